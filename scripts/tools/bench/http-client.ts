/** The benchmark's HTTP client: timed keep-alive GETs, and interleaved rounds over several targets. */
import http from 'node:http';

export interface Reply {
  status: number;
  ms: number;
  bytes: number;
  headers: http.IncomingHttpHeaders;
}

/** One GET on a keep-alive agent; time from the call to the last byte of the body. */
export function httpGet(url: string, headers: Record<string, string>, agent: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(url, { headers, agent }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, bytes, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** A server's Prometheus text (/metrics) as a lookup of unlabelled samples (NaN when absent).
 * A fresh, non-keep-alive connection, so the read leaves no socket open in the server. */
export async function readMetrics(baseUrl: string): Promise<(name: string) => number> {
  const text = await new Promise<string>((resolve, reject) => {
    http.get(`${baseUrl}/metrics`, { agent: new http.Agent({ keepAlive: false }) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  return (name) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
}

export interface Target {
  name: string;
  url: string;
  headers?: Record<string, string>;
  expect: number;
}

/** Sequential requests to each target in turn, `rounds` times (so drift in machine load hits all alike). */
export async function interleaved(targets: Target[], rounds: number, perRound: number, warm = 50): Promise<Map<string, number[]>> {
  const agents = new Map(targets.map((t) => [t.name, new http.Agent({ keepAlive: true, maxSockets: 1 })]));
  const out = new Map(targets.map((t) => [t.name, [] as number[]]));
  for (const t of targets) for (let i = 0; i < warm; i++) await httpGet(t.url, t.headers ?? {}, agents.get(t.name)!);
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      for (let i = 0; i < perRound; i++) {
        const rep = await httpGet(t.url, t.headers ?? {}, agents.get(t.name)!);
        if (rep.status !== t.expect) throw new Error(`${t.name}: expected ${t.expect}, got ${rep.status}`);
        out.get(t.name)!.push(rep.ms);
      }
    }
  }
  for (const a of agents.values()) a.destroy();
  return out;
}
