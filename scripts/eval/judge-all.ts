import type { Judge, Judgement } from './judge';

/**
 * Judges a list of images, producing the next while the judge works on the current one:
 * onnxruntime infers on its own threads and the judge's WASM runs on this one, so the two
 * overlap on a busy machine. Progress goes to stderr every 25 images.
 */
export async function judgeAll<T>(label: string, items: T[], produce: (t: T) => Promise<Buffer>, judge: Judge, onImage?: (bytes: Buffer, i: number) => Promise<void>): Promise<Judgement[]> {
  const out: Judgement[] = [];
  const t0 = performance.now();
  const start = (i: number) => {
    const p = produce(items[i]);
    p.catch(() => undefined);
    return p;
  };
  let next = items.length ? start(0) : undefined;
  for (let i = 0; i < items.length; i++) {
    const bytes = await next!;
    next = i + 1 < items.length ? start(i + 1) : undefined;
    out.push(await judge.judgeEncoded(bytes));
    if (onImage) await onImage(bytes, i);
    if ((i + 1) % 25 === 0 || i + 1 === items.length) {
      const s = (performance.now() - t0) / 1000;
      const eta = (s / (i + 1)) * (items.length - i - 1);
      process.stderr.write(`  ${label}: ${i + 1}/${items.length}  ${((i + 1) / s).toFixed(2)} img/s  eta ${eta.toFixed(0)} s\n`);
    }
  }
  return out;
}
