// Playground: calls GET /v1/generate from the browser with `Authorization: Token <key>` and
// shows the image, its headers and any error exactly as the API returned them.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const keyInput = $('api-key');
  const genForm = $('gen-form');
  const agingForm = $('aging-form');
  const SHOWN_HEADERS = ['X-User-Class', 'X-Seed', 'X-Model-Version', 'X-Generation-Params', 'Content-Type', 'RateLimit', 'RateLimit-Policy', 'Retry-After'];
  let blobUrls = [];
  let agingUrls = [];
  let cls = 'Anon';

  const advancedAllowed = (c) => c === 'Professional' || c === 'Enterprise';

  function applyClass(c, note) {
    cls = c;
    const adv = advancedAllowed(c);
    $('advanced').hidden = !adv;
    $('advanced').disabled = !adv;
    $('advanced-note').hidden = adv;
    agingForm.hidden = !adv;
    $('aging-note').hidden = adv;
    const caller = $('caller');
    caller.replaceChildren('Calling as ', FS.el('strong', { text: c }), note ? '. ' + note : '.');
  }

  async function identify() {
    const key = FS.apiKey.get();
    keyInput.value = key;
    if (!key) {
      applyClass('Anon', 'Add an API key to use your account\u2019s class and limits');
      return;
    }
    const res = await FS.api('GET', '/v1/account', { auth: 'key', key });
    if (res.ok) {
      applyClass(res.data.class, 'Key ' + key.slice(0, 17) + '\u2026 of ' + res.data.username);
    } else if (res.status === 401) {
      applyClass('Anon', 'This key is not valid (deleted, or mistyped): the API answers 401 to it');
    } else {
      applyClass('Anon', (res.data && res.data.detail) || 'Could not check the key');
    }
  }

  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (key) FS.apiKey.set(key);
    else FS.apiKey.clear();
    identify();
  });
  $('forget-key').addEventListener('click', () => {
    FS.apiKey.clear();
    identify();
    keyInput.focus();
  });

  function authHeaders() {
    const key = FS.apiKey.get();
    return key ? { Authorization: 'Token ' + key } : {};
  }

  /** Reads an error body (JSON, or anything else) into a message and a list of details. */
  async function readError(res) {
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    const detail = (data && data.detail) || res.status + ' ' + res.statusText;
    const items = (data && Array.isArray(data.errors) ? data.errors : []).map((e) => (e.param ? e.param + ': ' : '') + e.message + (e.value !== undefined ? ' (got "' + e.value + '")' : ''));
    return { detail, items };
  }

  function query(form) {
    const params = new URLSearchParams();
    for (const control of form.querySelectorAll('input[name], select[name]')) {
      if (control.disabled || control.closest('fieldset:disabled')) continue;
      if (control.value.trim() !== '') params.append(control.name, control.value.trim());
    }
    return params;
  }

  genForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('generate');
    const status = $('gen-status');
    const errorBox = $('gen-error');
    const params = query(genForm);
    const url = '/v1/generate' + (params.toString() ? '?' + params : '');
    errorBox.hidden = true;
    FS.busy(button, true, 'Generating…');
    status.textContent = 'Generating…';
    const started = performance.now();
    let res;
    try {
      res = await fetch(url, { headers: authHeaders(), cache: 'no-store', credentials: 'omit' });
    } catch {
      FS.busy(button, false);
      status.textContent = 'Could not reach the server.';
      return;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const dl = $('gen-headers');
    dl.replaceChildren(...SHOWN_HEADERS.filter((h) => res.headers.get(h) !== null).map((h) =>
      FS.el('div', {}, [FS.el('dt', { text: h }), FS.el('dd', { text: res.headers.get(h) })])));
    dl.hidden = false;
    const origin = location.origin;
    $('gen-curl').textContent = 'curl ' + (FS.apiKey.get() ? '-H "Authorization: Token $FACESTUDIO_KEY" ' : '') + '-o face "' + origin + url + '"';
    $('gen-request').hidden = false;
    if (res.ok) {
      const blob = await res.blob();
      blobUrls.forEach((u) => URL.revokeObjectURL(u));
      const objectUrl = URL.createObjectURL(blob);
      blobUrls = [objectUrl];
      const img = $('gen-image');
      img.src = objectUrl;
      const resolved = new URLSearchParams(res.headers.get('X-Generation-Params') || '');
      img.alt = 'Generated face: ' + [resolved.get('gender'), resolved.get('ethnicity') && resolved.get('ethnicity').replace(/_/g, ' '), resolved.get('age') && 'age ' + resolved.get('age')].filter(Boolean).join(', ');
      $('gen-figure').hidden = false;
      status.textContent = res.status + ' OK in ' + seconds + ' s: seed ' + res.headers.get('X-Seed') + '.';
      if (advancedAllowed(cls) && res.headers.get('X-Seed')) {
        $('a-seed').value = res.headers.get('X-Seed');
        if (resolved.get('gender')) $('a-gender').value = resolved.get('gender');
        if (resolved.get('ethnicity')) $('a-ethnicity').value = resolved.get('ethnicity');
      }
    } else {
      const err = await readError(res);
      errorBox.replaceChildren(FS.el('p', { text: res.status + ': ' + err.detail }));
      if (err.items.length) errorBox.append(FS.el('ul', {}, err.items.map((t) => FS.el('li', { text: t }))));
      errorBox.hidden = false;
      $('gen-figure').hidden = true;
      status.textContent = 'The API answered ' + res.status + ' after ' + seconds + ' s.';
    }
    FS.busy(button, false);
  });

  agingForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const box = agingForm.querySelector('.form-error');
    box.hidden = true;
    const seed = $('a-seed').value.trim();
    const ages = $('a-ages').value.split(',').map((s) => s.trim()).filter(Boolean);
    const problems = [];
    if (!/^[1-9][0-9]*$/.test(seed) || Number(seed) > 4294967296) problems.push('Seed must be a whole number from 1 to 4294967296.');
    if (ages.length === 0 || ages.length > 8) problems.push('Give 1 to 8 ages.');
    if (ages.some((a) => !/^(0|[1-9][0-9]?)$/.test(a) || Number(a) > 80)) problems.push('Ages must be whole numbers from 0 to 80.');
    if (problems.length) {
      box.replaceChildren(FS.el('p', { text: 'Check the form:' }), FS.el('ul', {}, problems.map((t) => FS.el('li', { text: t }))));
      box.hidden = false;
      return;
    }
    const button = agingForm.querySelector('button[type="submit"]');
    const status = $('aging-status');
    const strip = $('aging-strip');
    agingUrls.forEach((u) => URL.revokeObjectURL(u));
    agingUrls = [];
    strip.replaceChildren();
    FS.busy(button, true, 'Rendering…');
    let ok = 0;
    for (let i = 0; i < ages.length; i++) {
      status.textContent = 'Rendering age ' + ages[i] + ' (' + (i + 1) + ' of ' + ages.length + ')…';
      const params = new URLSearchParams({ seed, gender: $('a-gender').value, ethnicity: $('a-ethnicity').value, age: ages[i], resolution: '256' });
      const li = FS.el('li');
      strip.append(li);
      try {
        const res = await fetch('/v1/generate?' + params, { headers: authHeaders(), credentials: 'omit' });
        if (res.ok) {
          const u = URL.createObjectURL(await res.blob());
          agingUrls.push(u);
          li.append(FS.el('figure', {}, [FS.el('img', { src: u, alt: 'Seed ' + seed + ' at age ' + ages[i], width: 256, height: 256 }), FS.el('figcaption', { text: 'Age ' + ages[i] })]));
          ok++;
        } else {
          const err = await readError(res);
          li.append(FS.el('p', { className: 'error', text: 'Age ' + ages[i] + ': ' + res.status + ' ' + err.detail + (err.items.length ? ' ' + err.items.join(' ') : '') }));
        }
      } catch {
        li.append(FS.el('p', { className: 'error', text: 'Age ' + ages[i] + ': could not reach the server.' }));
      }
    }
    status.textContent = 'Rendered ' + ok + ' of ' + ages.length + ' ages of seed ' + seed + '.';
    FS.busy(button, false);
  });

  identify();
})();
