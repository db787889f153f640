/** Facts about the machine and software a run was made on (the Machine table). */
import fs from 'node:fs';
import os from 'node:os';
import sharp from 'sharp';
import { report } from './results';

export function machineFacts() {
  const cpus = os.cpus();
  const load = os.loadavg();
  const ortVersion = (require('onnxruntime-node/package.json') as { version: string }).version;
  report.facts = {
    CPU: `${cpus[0]?.model ?? 'unknown'} (${cpus.length} logical cores${cpus[0]?.speed ? `, ${cpus[0].speed} MHz` : ''})`,
    Memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    OS: `${os.type()} ${os.release()} ${os.arch()}`,
    Node: process.version,
    'onnxruntime-node': ortVersion,
    'sharp / libvips': `${sharp.versions.sharp} / ${sharp.versions.vips}`,
    'sharp concurrency (libvips threads per operation)': String(sharp.concurrency()),
    'Load average at start (1/5/15 min)': load.map((x) => x.toFixed(2)).join(' / '),
    'Niceness of the benchmark (inherited by servers)': String(os.getPriority()),
    // How idle cores sleep decides what a request after a pause costs (the pipelines table).
    'cpuidle driver / governor': ['driver', 'governor_ro'].map((f) => readOr(`/sys/devices/system/cpu/cpuidle/current_${f}`, 'n/a')).join(' / '),
  };
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}
