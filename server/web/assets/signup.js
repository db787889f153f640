// Sign-up page: POST /auth/register-email, keep the session, then show the "check your email" notice.
'use strict';

(function () {
  const form = document.getElementById('signup-form');
  const done = document.getElementById('signup-done');
  const status = done.querySelector('.status');

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!FS.checkNative(form)) return;
    const button = form.querySelector('button[type="submit"]');
    const value = (id) => document.getElementById(id).value;
    const body = { name: value('name'), username: value('username'), email: value('email'), password: value('password') };
    FS.busy(button, true, 'Creating account…');
    const res = await FS.api('POST', '/auth/register-email', { body });
    FS.busy(button, false);
    if (res.status !== 201) {
      FS.showErrors(form, res.data, 'Could not create the account.');
      return;
    }
    FS.session.set(res.data.token);
    FS.updateNav();
    document.getElementById('password').value = '';
    document.getElementById('done-email').textContent = body.email.trim().toLowerCase();
    form.hidden = true;
    done.hidden = false;
    done.focus();
  });

  document.getElementById('resend').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    const res = await FS.api('POST', '/auth/resend-verification', { auth: 'jwt' });
    status.textContent = (res.data && res.data.detail) || (res.ok ? 'Sent.' : 'Could not send the email.');
    setTimeout(() => { button.disabled = false; }, 5000);
  });
})();
