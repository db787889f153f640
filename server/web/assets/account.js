// Account page: plan, limits, usage today, email verification and "My API Keys".
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const banner = $('banner');
  const keyForm = $('key-form');
  const keyError = $('key-error');
  const tbody = document.querySelector('#keys-table tbody');
  let account = null;

  function showBanner(kind, text) {
    banner.className = 'notice ' + kind;
    banner.textContent = text;
    banner.hidden = false;
  }

  function needLogin(text) {
    FS.session.clear();
    FS.updateNav();
    $('account').hidden = true;
    if (text) $('need-login-text').textContent = text;
    $('need-login').hidden = false;
  }

  function per(seconds) {
    if (seconds % 86400 === 0) return seconds === 86400 ? 'day' : seconds / 86400 + ' days';
    if (seconds % 3600 === 0) return seconds === 3600 ? 'hour' : seconds / 3600 + ' hours';
    if (seconds % 60 === 0) return seconds === 60 ? 'minute' : seconds / 60 + ' minutes';
    return seconds + ' seconds';
  }

  async function loadAccount() {
    const res = await FS.api('GET', '/v1/account', { auth: 'jwt' });
    if (res.status === 401) return needLogin('Your session has ended. Log in again to see your account.');
    if (!res.ok) return showBanner('error', (res.data && res.data.detail) || 'Could not load your account.');
    account = res.data;
    $('acct-who').textContent = account.name ? account.name + ' (' + account.username + ')' : account.username;
    $('acct-email').textContent = account.email;
    const badge = $('acct-verified');
    badge.textContent = account.email_verified ? 'verified' : 'not verified';
    badge.className = 'badge ' + (account.email_verified ? 'ok' : 'warn');
    $('acct-class').textContent = account.class + (account.advanced_parameters ? ' (basic + advanced parameters)' : ' (basic parameters)');
    $('acct-burst').textContent = account.limits.burst.requests + ' images per ' + per(account.limits.burst.window_seconds);
    $('acct-daily').textContent = account.limits.daily.requests + ' images per ' + per(account.limits.daily.window_seconds);
    $('acct-usage').textContent = account.usage_today.requests + ' of ' + account.limits.daily.requests + ' (' + account.usage_today.date + ', UTC)';
    $('verify-box').hidden = account.email_verified;
    const canCreate = account.email_verified;
    keyForm.querySelectorAll('input, button').forEach((c) => { c.disabled = !canCreate; });
    $('key-name-hint').textContent = canCreate
      ? 'A name to recognise the key by, like where you use it.'
      : 'Verify your email address first: only verified accounts can create API keys.';
    $('account').hidden = false;
  }

  async function loadKeys() {
    const res = await FS.api('GET', '/v1/auth/api-keys', { auth: 'jwt' });
    if (res.status === 401) return needLogin('Your session has ended. Log in again.');
    if (!res.ok) { $('keys-status').textContent = (res.data && res.data.detail) || 'Could not load your keys.'; return; }
    const keys = res.data;
    tbody.replaceChildren(...keys.map((k) => {
      const del = FS.el('button', { type: 'button', className: 'danger', 'aria-label': 'Delete key ' + k.name, text: 'Delete' });
      del.addEventListener('click', () => deleteKey(k, del));
      return FS.el('tr', { 'data-key-id': k.id }, [
        FS.el('th', { scope: 'row', text: k.name }),
        FS.el('td', {}, FS.el('code', { text: k.key_prefix + '…' })),
        FS.el('td', {}, FS.el('time', { datetime: k.created_at, text: FS.formatDate(k.created_at) })),
        FS.el('td', {}, del),
      ]);
    }));
    $('keys-table').hidden = keys.length === 0;
    $('keys-empty').hidden = keys.length !== 0;
  }

  async function deleteKey(k, button) {
    if (!window.confirm('Delete the key "' + k.name + '" (' + k.key_prefix + '…)? Anything using it stops working immediately.')) return;
    button.disabled = true;
    const res = await FS.api('DELETE', '/v1/auth/api-keys/' + encodeURIComponent(k.id), { auth: 'jwt' });
    if (res.status !== 204 && res.status !== 404) {
      button.disabled = false;
      $('keys-status').textContent = (res.data && res.data.detail) || 'Could not delete the key.';
      return;
    }
    if (FS.apiKey.get().startsWith(k.key_prefix)) FS.apiKey.clear();
    const shown = $('new-key-value');
    if (shown.value.startsWith(k.key_prefix)) { $('new-key').hidden = true; shown.value = ''; }
    await Promise.all([loadKeys(), loadAccount()]);
    $('keys-status').textContent = 'Deleted the key "' + k.name + '".';
    $('key-name').focus();
  }

  keyForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    FS.clearErrors(keyForm);
    keyError.hidden = true;
    const button = keyForm.querySelector('button[type="submit"]');
    FS.busy(button, true, 'Creating…');
    const res = await FS.api('POST', '/v1/auth/api-keys', { auth: 'jwt', body: { name: $('key-name').value } });
    FS.busy(button, false);
    if (res.status === 401) return needLogin('Your session has ended. Log in again.');
    if (res.status !== 201) { FS.showErrors(keyForm, res.data, 'Could not create the key.', keyError); return; }
    $('key-name').value = '';
    $('new-key-name').textContent = '"' + res.data.name + '"';
    $('new-key-value').value = res.data.key;
    $('copy-status').textContent = '';
    $('new-key').hidden = false;
    $('new-key').focus();
    await Promise.all([loadKeys(), loadAccount()]);
  });

  $('copy-key').addEventListener('click', async () => {
    const input = $('new-key-value');
    let copied = false;
    try {
      await navigator.clipboard.writeText(input.value);
      copied = true;
    } catch {
      input.select();
      try { copied = document.execCommand('copy'); } catch { copied = false; }
    }
    $('copy-status').textContent = copied ? 'Copied to the clipboard.' : 'Select the key and copy it with Ctrl+C (⌘C).';
  });

  $('use-key').addEventListener('click', () => {
    FS.apiKey.set($('new-key-value').value);
    location.assign('/playground');
  });

  $('resend').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    const status = $('verify-box').querySelector('.status');
    button.disabled = true;
    const res = await FS.api('POST', '/auth/resend-verification', { auth: 'jwt' });
    status.textContent = (res.data && res.data.detail) || (res.ok ? 'Sent.' : 'Could not send the email.');
    setTimeout(() => { button.disabled = false; }, 5000);
  });

  const verified = new URLSearchParams(location.search).get('email_verified');
  if (verified === '1') showBanner('success', 'Your email address is verified. You can create API keys now.');
  else if (verified === 'invalid') showBanner('error', 'That verification link is invalid or has expired. Log in and send a new one.');
  if (verified) history.replaceState(null, '', '/account');

  if (!FS.session.get()) {
    needLogin(verified === '1' ? 'Log in to create your API keys.' : null);
  } else {
    loadAccount().then(() => account && loadKeys());
  }
})();
