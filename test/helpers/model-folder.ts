import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SHIPPED = path.join(__dirname, '..', '..', 'models', 'facestudio-v1');
export const UPSCALER_FIXTURE = path.join(__dirname, '..', 'fixtures', 'upscaler');

/** The manifest entry scripts/training/export.py wrote for the fixture upscaler. */
export function upscalerEntry(): { file: string; version: string } & Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(UPSCALER_FIXTURE, 'entry.json'), 'utf8'));
}

/**
 * A temporary model folder: the shipped generator (linked, not copied) and its manifest, plus
 * the fixture upscaler. `upscaler`: 'fixture' = entry and file; 'missing' = entry naming a file
 * that is not there; 'none' = the shipped manifest without an entry (the fallback case).
 */
export function modelFolder(upscaler: 'fixture' | 'missing' | 'none'): { dir: string; version: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'facestudio-model-'));
  const manifest = JSON.parse(fs.readFileSync(path.join(SHIPPED, 'manifest.json'), 'utf8'));
  fs.symlinkSync(path.join(SHIPPED, manifest.file), path.join(dir, manifest.file));
  delete manifest.upscaler;
  if (upscaler !== 'none') manifest.upscaler = upscalerEntry();
  if (upscaler === 'fixture') fs.copyFileSync(path.join(UPSCALER_FIXTURE, 'upscaler.onnx'), path.join(dir, manifest.upscaler.file));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir, version: manifest.version, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
