import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { NO_LIMITS, startServer, type TestServer } from './helpers/server';
import { startSmtp, type TestSmtp } from './helpers/smtp';

/**
 * The web account area and playground in headless Chromium: sign up → verify (link read from
 * a real SMTP server) → create a key → generate in the playground → aging demo → delete the
 * key. Screenshots of every page go to test/artifacts/ for a person to look at.
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const maybe = fs.existsSync(CHROMIUM) ? describe : describe.skip;
const ARTIFACTS = path.join(__dirname, 'artifacts');
jest.setTimeout(300000);

maybe('web pages in headless Chromium', () => {
  let smtp: TestSmtp;
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const shot = (name: string, p: Page = page) => p.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    smtp = await startSmtp();
    srv = await startServer({ SMTP_URL: smtp.url, RATE_LIMITS: NO_LIMITS });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      // 4xx answers the test provokes on purpose show up as "Failed to load resource".
      if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
  });
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await smtp?.close();
  });

  const email = 'grace@example.test';
  const password = 'a long enough password';
  let key = '';

  test('home page: what this is, a sample face, links', async () => {
    await page.goto(srv.url + '/');
    await page.getByRole('heading', { level: 1, name: /faces of people who do not exist/i }).waitFor();
    const sample = page.getByRole('img', { name: /sample generated face/i });
    await sample.waitFor();
    await page.waitForFunction(() => (document.querySelector('.sample img') as HTMLImageElement | null)?.naturalWidth === 512);
    expect(await page.getByRole('link', { name: 'Try the playground' }).getAttribute('href')).toBe('/playground');
    await shot('home');
  });

  test('sign up, with field errors from the server, then the verify notice', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sign up' }).click();
    await page.waitForURL('**/signup');
    // Taken username: the server's 409 shows next to the field.
    await srv.store.createUser({ email: 'someone@example.test', username: 'taken' });
    await page.getByLabel('Name (optional)').fill('Grace Hopper');
    await page.getByLabel('Username', { exact: true }).fill('taken');
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#username-error').getByText('That username is already registered.').waitFor();
    expect(await page.getByLabel('Username', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await shot('signup-error');
    // Keyboard only from here: fix the username, submit with Enter.
    await page.getByLabel('Username', { exact: true }).fill('grace');
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.getByRole('heading', { name: 'Check your email' }).waitFor();
    expect(await page.locator('#done-email').textContent()).toBe(email);
    await shot('signup-done');
  });

  test('the emailed link verifies the address and lands on the account page', async () => {
    const link = smtp.verifyLink(await smtp.waitForMail(email));
    await page.goto(link);
    await page.waitForURL('**/account');
    await page.getByText('Your email address is verified.').waitFor();
    await page.locator('#acct-class').getByText('Basic').waitFor();
    expect(await page.locator('#acct-verified').textContent()).toBe('verified');
    expect(await page.locator('#acct-daily').textContent()).toBe('100000 images per day');
  });

  test('create an API key: shown once, copyable; listed by prefix only', async () => {
    await page.getByLabel('Key name').fill('browser test');
    await page.getByLabel('Key name').press('Enter');
    const value = page.getByLabel('New API key');
    await value.waitFor();
    key = await value.inputValue();
    expect(key).toMatch(/^sk-faces-[A-Za-z0-9]{40}$/);
    const row = page.locator('#keys-table tbody tr');
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.first().textContent()).toContain(key.slice(0, 17));
    expect(await row.first().textContent()).not.toContain(key);
    await shot('account');
  });

  test('generate in the playground with that key: image, headers, errors', async () => {
    await page.getByRole('button', { name: 'Use in playground' }).click();
    await page.waitForURL('**/playground');
    await page.locator('#caller').getByText('Basic').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('facestudio.apiKey'))).toBe(key);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    // Basic: every basic parameter, no advanced ones (with an explanation instead).
    for (const label of ['Gender', 'Ethnicity', 'Age', 'Resolution', 'Image format']) expect(await page.getByLabel(label, { exact: false }).first().isVisible()).toBe(true);
    expect(await page.locator('#advanced').isVisible()).toBe(false);
    expect(await page.locator('#advanced-note').isVisible()).toBe(true);
    expect(await page.locator('#aging-note').isVisible()).toBe(true);

    await page.locator('#p-gender').selectOption('female');
    await page.locator('#p-ethnicity').selectOption('east_asian');
    await page.locator('#p-age').fill('30');
    await page.locator('#p-resolution').fill('256');
    await page.locator('#p-image_format').selectOption('webp');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.locator('#gen-status').getByText(/^200 OK/).waitFor({ timeout: 60000 });
    await page.waitForFunction(() => (document.getElementById('gen-image') as HTMLImageElement).naturalWidth === 256);
    const headers = await page.locator('#gen-headers').textContent();
    expect(headers).toMatch(/X-Seed\d+/);
    expect(headers).toContain('X-Generation-Params');
    expect(headers).toContain('gender=female&ethnicity=east_asian&age=30&resolution=256&image_format=webp');
    expect(headers).toContain('X-User-ClassBasic');
    expect(await page.locator('#gen-image').getAttribute('src')).toMatch(/^blob:/);
    await shot('playground');

    // An invalid key: the API's 401 is shown as it is.
    await page.getByLabel('API key', { exact: true }).fill('sk-faces-not-a-real-key');
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.locator('#caller').getByText(/not valid/).waitFor();
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.locator('#gen-error').getByText('401: Invalid token.').waitFor();
    await shot('playground-error');
    await page.getByLabel('API key', { exact: true }).fill(key);
    await page.getByLabel('API key', { exact: true }).press('Enter');
    await page.locator('#caller').getByText('Basic').waitFor();
  });

  test('aging demo with a Professional key: one seed at several ages', async () => {
    await srv.store.setClass(email, 'Professional');
    await page.reload();
    await page.locator('#caller').getByText('Professional').waitFor();
    expect(await page.locator('#advanced').isVisible()).toBe(true);
    expect(await page.locator('#aging-note').isVisible()).toBe(false);
    // Advanced parameters now in the form; the seed of the result fills the aging demo.
    await page.locator('#p-seed').fill('123456');
    await page.locator('#p-mood').selectOption('happy');
    await page.locator('#p-resolution').fill('192');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.locator('#gen-status').getByText(/^200 OK in .* seed 123456\./).waitFor({ timeout: 60000 });
    expect(await page.locator('#gen-headers').textContent()).toContain('mood=happy');
    expect(await page.locator('#a-seed').inputValue()).toBe('123456');
    await page.getByRole('textbox', { name: 'Ages' }).fill('8, 35, 70');
    await page.getByRole('button', { name: 'Render ages' }).click();
    await page.locator('#aging-status').getByText('Rendered 3 of 3 ages of seed 123456.').waitFor({ timeout: 120000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#aging-strip img')].every((i) => (i as HTMLImageElement).naturalWidth === 256));
    expect(await page.getByRole('img', { name: /Seed 123456 at age/ }).count()).toBe(3);
    await shot('playground-aging');
  });

  test('delete the key: it stops working at once', async () => {
    await page.goto(srv.url + '/account');
    await page.locator('#keys-table tbody tr').first().waitFor();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete key browser test' }).click();
    await page.locator('#keys-status').getByText('Deleted the key "browser test".').waitFor();
    expect(await page.locator('#keys-empty').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('facestudio.apiKey'))).toBeNull();
    const res = await fetch(`${srv.url}/v1/generate?resolution=128`, { headers: { Authorization: `Token ${key}` } });
    expect(res.status).toBe(401);
    await shot('account-deleted');
  });

  test('log out and log in again; docs page', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL('**/login');
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill('wrong password!');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').getByText('Invalid email or password.').waitFor();
    await shot('login');
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.waitForURL('**/account');
    await page.locator('#acct-class').getByText('Professional').waitFor();

    await page.goto(srv.url + '/docs');
    await page.getByRole('heading', { name: /GET \/v1\/generate/ }).waitFor();
    await page.getByRole('heading', { name: /POST \/auth\/register-email/ }).waitFor();
    await shot('docs');
  });

  test('phone-sized screens: no horizontal scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const p = await phone.newPage();
    for (const [name, url] of [['home', '/'], ['signup', '/signup'], ['playground', '/playground'], ['account', '/account'], ['docs', '/docs']]) {
      await p.goto(srv.url + url);
      await p.waitForLoadState('load');
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect([name, overflow]).toEqual([name, 0]);
      await shot(`phone-${name}`, p);
    }
    await phone.close();
  });

  test('no script errors and no CSP violations on any page', () => {
    expect(problems).toEqual([]);
  });
});
