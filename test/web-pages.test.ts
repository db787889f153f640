import { PARAMS, PARAM_NAMES } from '../server/params/schema';
import { modelQualityText } from '../server/web/pages';
import { startServer, type TestServer } from './helpers/server';

/** The web pages over plain HTTP: served, secured, self-contained (no third-party assets). */
let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(() => srv.close());

const PAGES = ['/', '/signup', '/login', '/account', '/playground', '/docs'];

test.each(PAGES)('%s is HTML with a strict CSP and security headers', async (path) => {
  const res = await fetch(srv.url + path);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html; charset=utf-8/);
  const csp = res.headers.get('content-security-policy')!;
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("img-src 'self' blob:");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  const html = await res.text();
  expect(html).toMatch(/^<!doctype html><html lang="en">/);
  expect(html).toContain('<meta name="viewport"');
  // Nothing from another origin, and no inline script or style (the CSP would block it).
  expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/<style|style="/);
  // Every referenced asset exists.
  for (const [, url] of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) {
    const asset = await fetch(srv.url + url.replace(/&amp;/g, '&'));
    expect([url, asset.status]).toEqual([url, 200]);
  }
});

test('every form control on every page has a label', async () => {
  for (const path of PAGES) {
    const html = await (await fetch(srv.url + path)).text();
    const ids = [...html.matchAll(/<(?:input|select)\b[^>]*\bid="([^"]+)"/g)].map((m) => m[1]);
    for (const id of ids) expect([path, id, html.includes(`for="${id}"`)]).toEqual([path, id, true]);
  }
});

test('the playground form has a control for every generate parameter, with its valid range', async () => {
  const html = await (await fetch(srv.url + '/playground')).text();
  for (const name of PARAM_NAMES) {
    expect(html).toContain(`name="${name}"`);
    if (PARAMS[name].tier === 'advanced') expect(html).toMatch(new RegExp(`id="advanced"[\\s\\S]*name="${name}"`));
  }
  expect(html).toContain('min="0" max="80"');
  expect(html).toContain('<option value="southeast_asian">');
});

test('/docs is rendered from the OpenAPI document, account endpoints included', async () => {
  const doc = await (await fetch(srv.url + '/openapi.json')).json();
  const html = await (await fetch(srv.url + '/docs')).text();
  for (const path of Object.keys(doc.paths)) expect(html).toContain(`<code>${path}</code>`);
  for (const p of ['/auth/register-email', '/auth/login-email', '/auth/verify-email', '/auth/resend-verification', '/v1/auth/api-keys', '/v1/auth/api-keys/{id}', '/v1/account']) {
    expect(doc.paths[p]).toBeDefined();
  }
  expect(doc.components.securitySchemes.Bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  expect(html).toMatch(/password[\s\S]*10–200 chars/);
});

test('the home page shows a sample face, rendered once and cached', async () => {
  const html = await (await fetch(srv.url + '/')).text();
  expect(html).toContain('src="/assets/sample-face.jpg"');
  const a = await fetch(srv.url + '/assets/sample-face.jpg');
  expect(a.status).toBe(200);
  expect(a.headers.get('content-type')).toBe('image/jpeg');
  const b = await fetch(srv.url + '/assets/sample-face.jpg');
  expect(Buffer.from(await a.arrayBuffer()).equals(Buffer.from(await b.arrayBuffer()))).toBe(true);
});

test('unknown paths stay JSON 404s; API responses are not given the page headers', async () => {
  const res = await fetch(srv.url + '/nope');
  expect(res.status).toBe(404);
  expect(await res.json()).toEqual({ detail: 'No route for GET /nope.' });
  expect((await fetch(srv.url + '/assets/nope.js')).status).toBe(404);
  expect((await fetch(srv.url + '/assets/../app.ts')).status).toBe(404);
  const api = await fetch(srv.url + '/v1/account');
  expect(api.status).toBe(401);
  expect(api.headers.get('content-security-policy')).toBeNull();
});

/** The words a reader sees: tags dropped, entities decoded, whitespace collapsed. */
function visibleText(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

test('/docs says how the Token key is sent, without repeating the header name, and limits per minute', async () => {
  const text = visibleText(await (await fetch(srv.url + '/docs')).text());
  const card = text.slice(text.indexOf('Authentication'), text.indexOf('Bearer', text.indexOf('Authentication')));
  expect(card).toContain('API key in the Authorization header.');
  expect(card).toContain('Authorization: Token sk-faces-…');
  expect(text).not.toMatch(/Authorization Authorization/);
  expect(text).not.toContain('apiKey in header');
  // The default windows are a minute and a day: the limits read that way.
  expect(text).toContain('Anon: 1 per minute and 60 per day');
  expect(text).toContain('Basic: 5 per minute and 120 per day');
  expect(text).not.toContain('burst window');
});

test('the home page describes the faces as the model draws them, not as photos', async () => {
  const text = visibleText(await (await fetch(srv.url + '/')).text());
  expect(text).not.toMatch(/realistic|photo-?real|portrait photos/i);
  const side = srv.faces.manifest.resolution;
  expect(text).toContain(`draws each face at ${side}×${side} pixels; every image is enlarged from that, so faces look soft at large sizes`);
  expect(text).toContain(srv.faces.modelVersion);
});

test('the home page states the model terms next to the plans and the free-key button', async () => {
  const html = await (await fetch(srv.url + '/')).text();
  const text = visibleText(html);
  expect(text).toContain('Non-commercial use only.');
  for (const name of ['UTKFace', 'CelebA-HQ', 'FairFace (CC BY 4.0)']) expect(text).toContain(name);
  expect(text).toContain('MIT-licensed');
  // Near "Get a free API key": the hero links to the terms; near "Plans": the terms are in that section.
  const hero = html.slice(html.indexOf('Get a free API key'), html.indexOf('</section>', html.indexOf('Get a free API key')));
  expect(hero).toContain('href="#model-terms"');
  const plans = html.slice(html.indexOf('id="plans"'));
  expect(plans).toContain('id="model-terms"');
});

test('the quality text follows the model: a model that draws at full size is not called soft', () => {
  expect(String(modelQualityText({ version: 'v9', resolution: 1024 }))).toContain('draws each face at 1024×1024 pixels, the largest size you can ask for');
  expect(String(modelQualityText({ version: 'v9', resolution: 1024 }))).not.toContain('soft');
  expect(String(modelQualityText({ version: 'v1', resolution: 64 }))).toContain('soft at large sizes');
});
