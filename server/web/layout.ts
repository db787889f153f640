import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Marks a string as already-escaped HTML. */
export class Html {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

/** Tagged template: interpolated values are escaped unless they are Html (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1];
  });
  return new Html(out);
}

function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === undefined || v === null || v === false) return '';
  return esc(v);
}

/**
 * The source folder of the static assets (CSS, JS, icons). They are read from the source
 * tree both under tsx and from the compiled dist/ build, which does not copy them.
 */
export const ASSETS_DIR = (() => {
  const candidates = [path.join(__dirname, 'assets'), path.resolve(__dirname, '..', '..', '..', 'server', 'web', 'assets')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'app.css'))) ?? candidates[0];
})();

const versions = new Map<string, string>();

/** `/assets/<name>?v=<content hash>`, so browsers may cache assets and still see new ones. */
export function asset(name: string): string {
  let v = versions.get(name);
  if (v === undefined) {
    try {
      v = crypto.createHash('sha256').update(fs.readFileSync(path.join(ASSETS_DIR, name))).digest('hex').slice(0, 10);
    } catch {
      v = '0';
    }
    versions.set(name, v);
  }
  return `/assets/${name}?v=${v}`;
}

export interface PageOptions {
  title: string;
  /** Which nav entry is current. */
  nav?: 'home' | 'playground' | 'docs' | 'account' | 'login' | 'signup';
  /** Page scripts (besides common.js), by asset name. */
  scripts?: string[];
  body: Html;
  description?: string;
}

const NAV: { id: NonNullable<PageOptions['nav']>; href: string; label: string; when?: 'in' | 'out' }[] = [
  { id: 'playground', href: '/playground', label: 'Playground' },
  { id: 'docs', href: '/docs', label: 'API docs' },
  { id: 'account', href: '/account', label: 'My account', when: 'in' },
  { id: 'login', href: '/login', label: 'Log in', when: 'out' },
  { id: 'signup', href: '/signup', label: 'Sign up', when: 'out' },
];

/** The shared page shell: skip link, header with navigation, main, footer. */
export function page(opts: PageOptions): string {
  const scripts = ['common.js', ...(opts.scripts ?? [])];
  const nav = NAV.map(
    (n) =>
      html`<li${n.when ? html` data-when="${n.when}"` : ''}${n.when === 'in' ? html` hidden` : ''}><a href="${n.href}"${opts.nav === n.id ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
  );
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · Face Studio</title>
<meta name="description" content="${opts.description ?? 'Face Studio generates portraits of people who do not exist, through a simple HTTP API.'}">
<link rel="icon" href="${asset('favicon.svg')}" type="image/svg+xml">
<link rel="stylesheet" href="${asset('app.css')}">
${scripts.map((s) => html`<script src="${asset(s)}" defer></script>\n`)}</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
  <div class="wrap bar">
    <a class="brand" href="/"${opts.nav === 'home' ? html` aria-current="page"` : ''}><img src="${asset('favicon.svg')}" alt="" width="28" height="28"> Face Studio</a>
    <nav aria-label="Main">
      <ul>${nav}<li data-when="in" hidden><button type="button" class="link" data-action="logout">Log out</button></li></ul>
    </nav>
  </div>
</header>
<main id="main" class="wrap" tabindex="-1">
<noscript><p class="notice error">These pages need JavaScript for signing in and for the playground. The API itself works without it: see the <a href="/docs">API docs</a>.</p></noscript>
${opts.body}
</main>
<footer class="site"><div class="wrap">Every face here is generated and belongs to nobody. Images carry a visible mark and embedded provenance metadata. · <a href="/openapi.json">OpenAPI</a></div></footer>
</body>
</html>`}`;
}
