// Face Studio pages: shared helpers. Plain JavaScript, no build step, no third-party code.
// The session JWT and the playground API key live in sessionStorage only: they vanish when
// the tab closes and are never written to cookies or localStorage.
'use strict';

(function () {
  const JWT = 'facestudio.jwt';
  const KEY = 'facestudio.apiKey';

  function store(name) {
    return {
      get() {
        try { return sessionStorage.getItem(name) || ''; } catch { return ''; }
      },
      set(value) {
        try { sessionStorage.setItem(name, value); } catch { /* storage disabled */ }
      },
      clear() {
        try { sessionStorage.removeItem(name); } catch { /* storage disabled */ }
      },
    };
  }

  /** fetch() returning {status, ok, data, headers}; data is parsed JSON or null. */
  async function api(method, path, opts) {
    opts = opts || {};
    const headers = { Accept: 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.auth === 'jwt' && FS.session.get()) headers.Authorization = 'Bearer ' + FS.session.get();
    if (opts.auth === 'key' && opts.key) headers.Authorization = 'Token ' + opts.key;
    let res;
    try {
      res = await fetch(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), credentials: 'omit', cache: 'no-store' });
    } catch (err) {
      return { status: 0, ok: false, data: { detail: 'Could not reach the server. Check your connection and try again.' }, headers: new Headers() };
    }
    let data = null;
    if ((res.headers.get('Content-Type') || '').includes('json')) {
      try { data = await res.json(); } catch { data = null; }
    }
    return { status: res.status, ok: res.ok, data, headers: res.headers };
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') node.textContent = v;
      else if (k === 'className') node.className = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of [].concat(children || [])) node.append(c);
    return node;
  }

  /** Clears field errors and the form-level error box of `form`. */
  function clearErrors(form) {
    form.querySelectorAll('.field-error').forEach((p) => { p.textContent = ''; p.hidden = true; });
    form.querySelectorAll('[aria-invalid]').forEach((i) => {
      i.removeAttribute('aria-invalid');
      const ids = (i.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && !id.endsWith('-error'));
      if (ids.length) i.setAttribute('aria-describedby', ids.join(' '));
      else i.removeAttribute('aria-describedby');
    });
    const box = formErrorBox(form);
    if (box) { box.textContent = ''; box.hidden = true; }
  }

  function formErrorBox(form) {
    return form.querySelector('.form-error') || (form.id && document.querySelector('#' + form.id + ' ~ .form-error'));
  }

  /**
   * Shows an API error: field errors next to their inputs (linked with aria-describedby),
   * the rest in the form's alert box. Focuses the first invalid input.
   */
  function showErrors(form, data, fallback, box) {
    const detail = (data && data.detail) || fallback || 'Something went wrong.';
    const errors = (data && Array.isArray(data.errors)) ? data.errors : [];
    const leftover = [];
    let first = null;
    for (const e of errors) {
      const name = e.field || e.param;
      const input = name && form.querySelector('[name="' + CSS.escape(name) + '"]');
      const slot = name && form.querySelector('#' + CSS.escape(name) + '-error');
      if (input && slot) {
        markInvalid(input, slot, e.message);
        first = first || input;
      } else {
        leftover.push((name ? name + ': ' : '') + e.message);
      }
    }
    box = box || formErrorBox(form);
    if (box) {
      box.replaceChildren(el('p', { text: detail }));
      if (leftover.length) box.append(el('ul', {}, leftover.map((t) => el('li', { text: t }))));
      box.hidden = false;
    }
    if (first) first.focus();
  }

  /** Shows `message` in the field's error slot and ties it to the input for screen readers. */
  function markInvalid(input, slot, message) {
    slot.textContent = message;
    slot.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    const ids = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    if (!ids.includes(slot.id)) ids.push(slot.id);
    input.setAttribute('aria-describedby', ids.join(' '));
  }

  /** Client-side check with the browser's own constraint validation; true when valid. */
  function checkNative(form) {
    clearErrors(form);
    let first = null;
    for (const input of form.querySelectorAll('input, select')) {
      if (input.disabled || input.checkValidity()) continue;
      const slot = form.querySelector('#' + CSS.escape(input.name) + '-error');
      if (slot) {
        markInvalid(input, slot, input.validationMessage);
      }
      first = first || input;
    }
    if (first) { first.focus(); if (!form.querySelector('#' + CSS.escape(first.name) + '-error')) form.reportValidity(); }
    return !first;
  }

  function busy(button, on, label) {
    if (!button) return;
    if (on) { button.dataset.label = button.textContent; button.textContent = label || 'Working…'; button.disabled = true; }
    else { button.textContent = button.dataset.label || button.textContent; button.disabled = false; }
  }

  function updateNav() {
    const signedIn = Boolean(FS.session.get());
    document.querySelectorAll('header [data-when]').forEach((li) => {
      li.hidden = li.dataset.when === 'in' ? !signedIn : signedIn;
    });
  }

  const FS = {
    session: store(JWT),
    apiKey: store(KEY),
    api,
    el,
    clearErrors,
    showErrors,
    checkNative,
    busy,
    updateNav,
    /** "2025-01-31T10:00:00.000Z" -> local date and time. */
    formatDate(iso) {
      const d = new Date(iso);
      return isNaN(d) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    },
    logout() {
      FS.session.clear();
      FS.apiKey.clear();
      location.assign('/login');
    },
  };
  window.FS = FS;

  document.addEventListener('DOMContentLoaded', () => {
    updateNav();
    document.querySelectorAll('[data-action="logout"]').forEach((b) => b.addEventListener('click', FS.logout));
  });
})();
