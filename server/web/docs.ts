import { html, page, type Html } from './layout';

/** A loose view of the parts of an OpenAPI 3.1 document that the docs page renders. */
type Schema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  pattern?: string;
  default?: unknown;
  description?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  oneOf?: Schema[];
};
type Parameter = { name: string; in: string; required?: boolean; description?: string; schema?: Schema; 'x-tier'?: string };
type Response = { description?: string; headers?: Record<string, { description?: string; schema?: Schema }>; content?: Record<string, { schema?: Schema }> };
type Operation = {
  summary?: string;
  description?: string;
  security?: Record<string, unknown>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; description?: string; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, Response>;
};
type Doc = {
  info?: { title?: string; version?: string; description?: string };
  components?: { securitySchemes?: Record<string, { type?: string; scheme?: string; in?: string; name?: string; description?: string; bearerFormat?: string }> };
  paths?: Record<string, Record<string, Operation>>;
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options', 'head'];

/** One line describing a JSON schema: type, allowed values, bounds. */
export function schemaSummary(s: Schema | undefined): string {
  if (!s) return '';
  if (s.anyOf || s.oneOf) return (s.anyOf ?? s.oneOf)!.map(schemaSummary).join(' or ');
  if (s.enum) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (s.const !== undefined) return JSON.stringify(s.const);
  const type = Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'any');
  const parts: string[] = [type];
  if (type === 'array' && s.items) return `array of ${schemaSummary(s.items)}`;
  if (s.format) parts.push(`(${s.format})`);
  if (s.minimum !== undefined && s.maximum !== undefined) parts.push(`${s.minimum} to ${s.maximum}`);
  else if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  else if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined && s.maxLength !== undefined) parts.push(`${s.minLength}–${s.maxLength} chars`);
  else if (s.minLength !== undefined) parts.push(`≥ ${s.minLength} chars`);
  else if (s.maxLength !== undefined) parts.push(`≤ ${s.maxLength} chars`);
  return parts.join(' ');
}

function anchor(method: string, path: string): string {
  return `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
}

function securityText(op: Operation, doc: Doc): string {
  const sec = op.security;
  if (!sec || sec.length === 0) return 'None.';
  const names = sec.map((req) => Object.keys(req));
  const optional = names.some((n) => n.length === 0);
  const schemes = [...new Set(names.flat())].map((n) => {
    const sch = doc.components?.securitySchemes?.[n];
    return sch?.type === 'http' && sch.scheme === 'bearer' ? 'Authorization: Bearer <JWT>' : sch?.in === 'header' ? `${sch.name}: ${n} <key>` : n;
  });
  return `${optional ? 'Optional: ' : ''}${schemes.join(' or ')}.`;
}

type SecurityScheme = NonNullable<NonNullable<Doc['components']>['securitySchemes']>[string];

/** How a security scheme is sent, in words: "API key in the Authorization header". */
export function schemeText(s: SecurityScheme): string {
  if (s.type === 'http') return `HTTP ${s.scheme === 'bearer' ? 'Bearer token' : s.scheme}${s.bearerFormat ? ` (${s.bearerFormat})` : ''} in the Authorization header.`;
  if (s.type === 'apiKey') return `API key in the ${s.name ?? ''} ${s.in === 'query' ? 'query parameter' : s.in ?? ''}.`;
  return s.type ?? '';
}

function propertiesTable(schema: Schema, caption: string): Html {
  const props = Object.entries(schema.properties ?? {});
  if (props.length === 0) return html`<p>${schemaSummary(schema)}</p>`;
  const required = new Set(schema.required ?? []);
  return html`<div class="table-scroll"><table class="doc">
    <caption>${caption}</caption>
    <thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Description</th></tr></thead>
    <tbody>${props.map(
      ([name, s]) => html`<tr><th scope="row"><code>${name}</code></th><td>${schemaSummary(s)}</td><td>${required.has(name) ? 'yes' : 'no'}</td><td>${s.description ?? ''}${s.default !== undefined && s.default !== '' ? ` Default: ${JSON.stringify(s.default)}.` : ''}</td></tr>`,
    )}</tbody></table></div>`;
}

function operationSection(doc: Doc, path: string, method: string, op: Operation): Html {
  const params = op.parameters ?? [];
  const body = op.requestBody?.content?.['application/json']?.schema;
  const responses = Object.entries(op.responses ?? {});
  return html`<section class="card op" id="${anchor(method, path)}" aria-labelledby="${anchor(method, path)}-h">
  <h2 id="${anchor(method, path)}-h"><span class="method ${method}">${method.toUpperCase()}</span> <code>${path}</code></h2>
  ${op.summary ? html`<p class="summary">${op.summary}</p>` : ''}
  ${op.description ? html`<p>${op.description}</p>` : ''}
  <p><strong>Authentication:</strong> ${securityText(op, doc)}</p>
  ${
    params.length
      ? html`<h3>Parameters</h3><div class="table-scroll"><table class="doc">
    <caption class="visually-hidden">Parameters of ${method.toUpperCase()} ${path}</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead>
    <tbody>${params.map(
      (p) => html`<tr><th scope="row"><code>${p.name}</code>${p['x-tier'] === 'advanced' ? html` <span class="badge">advanced</span>` : ''}${p.required ? html` <span class="badge">required</span>` : ''}</th><td>${p.in}</td><td>${schemaSummary(p.schema)}</td><td>${p.description ?? ''}</td></tr>`,
    )}</tbody></table></div>`
      : ''
  }
  ${body ? html`<h3>Request body <span class="badge">application/json</span></h3>${op.requestBody?.description ? html`<p>${op.requestBody.description}</p>` : ''}${propertiesTable(body, `Request body of ${method.toUpperCase()} ${path}`)}` : ''}
  <h3>Responses</h3>
  <div class="table-scroll"><table class="doc">
    <caption class="visually-hidden">Responses of ${method.toUpperCase()} ${path}</caption>
    <thead><tr><th scope="col">Status</th><th scope="col">Description</th><th scope="col">Content</th></tr></thead>
    <tbody>${responses.map(([status, r]) => {
      const content = Object.entries(r.content ?? {});
      const headers = Object.keys(r.headers ?? {});
      return html`<tr><th scope="row">${status}</th><td>${r.description ?? ''}${headers.length ? html`<br><span class="hint">Headers: ${headers.map((h, i) => html`${i ? ', ' : ''}<code>${h}</code>`)}</span>` : ''}</td>
        <td>${content.map(([type, c]) => html`<div><code>${type}</code>${c.schema?.properties ? html`: ${Object.keys(c.schema.properties).map((k, i) => html`${i ? ', ' : ''}<code>${k}</code>`)}` : c.schema?.type === 'array' && c.schema.items?.properties ? html`: array of {${Object.keys(c.schema.items.properties).join(', ')}}` : ''}</div>`)}</td></tr>`;
    })}</tbody></table></div>
</section>`;
}

/** Readable API docs, rendered on the server from the OpenAPI document itself. */
export function docsPage(docInput: unknown): string {
  const doc = docInput as Doc;
  const ops: { path: string; method: string; op: Operation }[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) if (item[method]) ops.push({ path, method, op: item[method] });
  }
  const schemes = Object.entries(doc.components?.securitySchemes ?? {});
  return page({
    title: 'API docs',
    nav: 'docs',
    body: html`
<h1>${doc.info?.title ?? 'API'} <span class="badge">v${doc.info?.version ?? ''}</span></h1>
<p class="lede">${doc.info?.description ?? ''}</p>
<p>This page is rendered from the machine-readable <a href="/openapi.json">OpenAPI document</a>. Try the image endpoint in the <a href="/playground">playground</a>.</p>
<div class="docs">
<nav class="toc card" aria-label="Endpoints">
  <h2>Endpoints</h2>
  <ul>${ops.map(({ path, method, op }) => html`<li><a href="#${anchor(method, path)}"><span class="method ${method}">${method.toUpperCase()}</span> ${path}</a>${op.summary ? html`<span class="hint"> ${op.summary}</span>` : ''}</li>`)}</ul>
</nav>
<div class="stack">
${
  schemes.length
    ? html`<section class="card" aria-labelledby="auth-h"><h2 id="auth-h">Authentication</h2><dl class="facts">${schemes.map(
        ([name, s]) => html`<div><dt>${name}</dt><dd>${schemeText(s)}${s.description ? html`<br>${s.description}` : ''}</dd></div>`,
      )}</dl></section>`
    : ''
}
${ops.map(({ path, method, op }) => operationSection(doc, path, method, op))}
</div>
</div>`,
  });
}
