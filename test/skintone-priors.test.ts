import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifest, type Manifest } from '../server/generator/manifest';
import { resolveParams } from '../server/params/resolve';
import { ETHNICITIES, type ResolvedParams } from '../server/params/schema';

/**
 * The skin-tone priors a v2 export ships, measured on the committed labels (not a fixture):
 * scripts/training/export.py writes the manifest's layout and priors from
 * models/facestudio-v2/labels, and the server's own seed draw reads them. Labels v2's promise:
 * a seed-drawn tone does not contradict the ethnicity asked for.
 */
const ROOT = path.join(__dirname, '..');
const SEEDS = 20000;
let manifest: Manifest;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skintone-priors-'));
  execFileSync('/usr/bin/python3', [path.join(ROOT, 'scripts', 'training', 'export.py'), '--manifest-only',
    '--labels', path.join(ROOT, 'models', 'facestudio-v2', 'labels'), '--out', dir], { stdio: 'pipe' });
  manifest = loadManifest(dir);
}, 60_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const drawn = (ethnicity: ResolvedParams['ethnicity']) =>
  Array.from({ length: SEEDS }, (_, i) => resolveParams({ ethnicity }, i + 1, manifest.priors).skintone);
const share = (tones: number[], hit: (t: number) => boolean) => tones.filter(hit).length / tones.length;

test('over 20,000 seeds at most 2 % of african faces draw tone <= 3 and of european faces tone >= 7', () => {
  expect(share(drawn('african'), (t) => t <= 3)).toBeLessThanOrEqual(0.02);
  expect(share(drawn('european'), (t) => t >= 7)).toBeLessThanOrEqual(0.02);
});

test('every ethnicity still draws a spread of tones, not one value', () => {
  for (const ethnicity of ETHNICITIES) {
    expect(new Set(drawn(ethnicity).slice(0, 2000)).size).toBeGreaterThanOrEqual(4);
  }
});

test('the tone order of the data survives: african darkest on average, european and east asian lightest', () => {
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const means = Object.fromEntries(ETHNICITIES.map((e) => [e, mean(drawn(e))]));
  for (const e of ETHNICITIES.filter((x) => x !== 'african')) expect(means.african).toBeGreaterThan(means[e]);
  expect(means.european).toBeLessThan(means.south_asian);
  expect(means.east_asian).toBeLessThan(means.southeast_asian);
});
