import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { signUrl } from '../server/auth/signed-url';
import { NO_LIMITS, startServer, userWithKey, type TestServer } from './helpers/server';

/**
 * A real browser: a page served by another origin (another host name and port) embeds signed
 * <img> tags pointing at the API, and calls it with fetch(). Needs Chromium; set CHROMIUM_PATH
 * to use another binary.
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const maybe = fs.existsSync(CHROMIUM) ? describe : describe.skip;
jest.setTimeout(180000);

maybe('a page on another origin embedding signed images in headless Chromium', () => {
  let srv: TestServer;
  let site: http.Server;
  let browser: Browser;
  let pageOrigin: string;
  let html = '';

  beforeAll(async () => {
    srv = await startServer({ RATE_LIMITS: NO_LIMITS });
    site = http.createServer((req, res) => {
      if (req.url === '/') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(html);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    // "localhost" vs the API's "127.0.0.1", and another port: a different origin and site.
    pageOrigin = `http://localhost:${(site.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
    await srv?.close();
  });

  test('every signed <img> loads; altered and expired ones do not; fetch reads exposed headers', async () => {
    const pro = await userWithKey(srv.store, 'Professional');
    const basic = await userWithKey(srv.store, 'Basic');
    const exp = Math.floor(Date.now() / 1000) + 600;
    const good: Record<string, { url: string; size: number }> = {
      'pro-seeded': { url: signUrl({ gender: 'female', age: 30, seed: 42, resolution: 128 }, pro.key, exp, srv.url + '/v1/generate'), size: 128 },
      'pro-webp': { url: signUrl({ seed: 43, resolution: 160, image_format: 'webp', mood: 'happy' }, pro.key, exp, srv.url + '/v1/generate'), size: 160 },
      'basic-unseeded': { url: signUrl({ gender: 'male', age: 60, resolution: 128 }, basic.key, exp, srv.url + '/v1/generate'), size: 128 },
      'basic-ethnicity': { url: signUrl({ ethnicity: 'east_asian', resolution: 200 }, basic.key, exp, srv.url + '/v1/generate'), size: 200 },
      'same-as-first': { url: signUrl({ gender: 'female', age: 30, seed: 42, resolution: 128 }, pro.key, exp, srv.url + '/v1/generate'), size: 128 },
    };
    const bad = {
      tampered: good['pro-seeded'].url.replace('age=30', 'age=31'),
      expired: signUrl({ seed: 1, resolution: 128 }, pro.key, exp - 1200, srv.url + '/v1/generate'),
    };
    const img = (id: string, url: string, extra = '') => `<img id="${id}" src="${url.replace(/&/g, '&amp;')}" alt=""${extra}>`;
    html = `<!doctype html><html><head><title>embed</title></head><body>
      ${Object.entries(good).map(([id, g]) => img(id, g.url)).join('\n')}
      ${img('cors-mode', good['pro-webp'].url, ' crossorigin="anonymous"')}
      ${Object.entries(bad).map(([id, url]) => img(id, url)).join('\n')}
    </body></html>`;

    const page = await browser.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    await page.goto(`${pageOrigin}/`);
    await page.waitForFunction(() => Array.from(document.images).every((i) => i.complete), undefined, { timeout: 60000 });
    const sizes = await page.evaluate(() => Object.fromEntries(Array.from(document.images).map((i) => [i.id, [i.naturalWidth, i.naturalHeight]])));
    for (const [id, g] of Object.entries(good)) expect([id, sizes[id]]).toEqual([id, [g.size, g.size]]);
    expect(sizes['cors-mode']).toEqual([160, 160]); // crossorigin=anonymous needs Access-Control-Allow-Origin
    expect(sizes.tampered).toEqual([0, 0]);
    expect(sizes.expired).toEqual([0, 0]);
    // Only the bad ones failed (Chromium blocks their JSON error bodies as images).
    expect(failed.sort()).toEqual(Object.values(bad).sort());

    // fetch() from the page: a signed URL is readable, with its exposed headers.
    const fetched = await page.evaluate(async (url) => {
      const res = await fetch(url);
      return { status: res.status, seed: res.headers.get('X-Seed'), cls: res.headers.get('X-User-Class'), etag: res.headers.get('ETag'), policy: res.headers.get('RateLimit-Policy'), bytes: (await res.arrayBuffer()).byteLength };
    }, good['pro-seeded'].url);
    expect(fetched).toMatchObject({ status: 200, seed: '42', cls: 'Professional', etag: expect.stringMatching(/^"/), policy: expect.stringContaining('burst') });
    expect(fetched.bytes).toBeGreaterThan(1000);

    // The reason of a rejected URL is readable too.
    const rejected = await page.evaluate(async (url) => {
      const res = await fetch(url);
      return { status: res.status, body: await res.json() };
    }, bad.expired);
    expect(rejected).toEqual({ status: 403, body: { detail: expect.stringMatching(/expired/) } });

    // With the default CORS_ORIGINS=*, a page on another origin cannot use an API key.
    const withToken = await page.evaluate(
      async ([url, key]) => {
        try {
          const res = await fetch(url, { headers: { Authorization: `Token ${key}` } });
          return `status ${res.status}`;
        } catch (e) {
          return `blocked: ${(e as Error).name}`;
        }
      },
      [`${srv.url}/v1/generate?resolution=128`, pro.key] as const,
    );
    expect(withToken).toBe('blocked: TypeError');
    await page.close();
  });
});
