// Log-in page: POST /auth/login-email, keep the session JWT in sessionStorage, go to the account.
'use strict';

(function () {
  const form = document.getElementById('login-form');
  const email = document.getElementById('email');
  const password = document.getElementById('password');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!FS.checkNative(form)) return;
    const button = form.querySelector('button[type="submit"]');
    FS.busy(button, true, 'Logging in…');
    const res = await FS.api('POST', '/auth/login-email', { body: { email: email.value, password: password.value } });
    FS.busy(button, false);
    if (!res.ok) {
      FS.showErrors(form, res.data, 'Could not log in.');
      password.focus();
      password.select();
      return;
    }
    FS.session.set(res.data.token);
    location.assign('/account');
  });
})();
