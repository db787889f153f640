import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { rowWise } from './row-wise';
import { sessionOptions } from './session-options';

/** One input of a network: its name and the shape of one batch row (without the batch axis). */
export interface RowInput {
  name: string;
  row: readonly number[];
}

/**
 * A network that runs several inputs as one batch when that gives every row exactly the bytes
 * it gets alone. Two sessions of one file: the model as exported runs lone rows (so a lone
 * request costs what it always did), and its row-wise variant (row-wise.ts) runs batches. At
 * load, a probe batch is compared bit for bit with the same rows run alone; a network whose
 * batches differ (or that has no batch axis) runs its rows one at a time instead, and
 * `notBatchable` says why.
 */
export class BatchSession {
  private constructor(
    private readonly single: ort.InferenceSession,
    private readonly batched: ort.InferenceSession | undefined,
    private readonly inputs: readonly RowInput[],
    private readonly output: string,
    /** Why batches are off; undefined when they are on. */
    readonly notBatchable: string | undefined,
  ) {}

  /**
   * `describe` names the inputs and their row shapes once the exported model is loaded (a
   * shape may depend on what the file declares); what it throws stops the load. With
   * `batches: false` only the exported model is loaded (GENERATOR_BATCH=1 needs no variant).
   */
  static async open(file: string, output: string, threads: number, batches: boolean, describe: (single: ort.InferenceSession) => RowInput[]): Promise<BatchSession> {
    const options = sessionOptions(threads);
    const single = await ort.InferenceSession.create(file, options);
    let inputs: RowInput[];
    try {
      inputs = describe(single);
      const missing = [...inputs.map((i) => i.name).filter((n) => !single.inputNames.includes(n)), ...(single.outputNames.includes(output) ? [] : [output])];
      if (missing.length) {
        throw new Error(`expected inputs [${inputs.map((i) => i.name).join(', ')}] and output ${output}, found [${single.inputNames.join(', ')}] -> [${single.outputNames.join(', ')}]`);
      }
    } catch (err) {
      await single.release();
      throw new Error(`${file}: ${(err as Error).message}`);
    }
    if (!batches) return new BatchSession(single, undefined, inputs, output, 'batching is turned off');
    const fixed = inputs.filter((i) => {
      const meta = single.inputMetadata.find((m) => m.name === i.name);
      return meta?.isTensor && typeof meta.shape[0] === 'number';
    });
    if (fixed.length) return new BatchSession(single, undefined, inputs, output, `input ${fixed[0].name} has a fixed batch size`);

    const { model, rewritten } = rowWise(fs.readFileSync(file));
    let batched: ort.InferenceSession;
    try {
      batched = rewritten ? await ort.InferenceSession.create(model, options) : single;
    } catch (err) {
      return new BatchSession(single, undefined, inputs, output, `its row-wise variant does not load (${(err as Error).message.split('\n')[0]})`);
    }
    const session = new BatchSession(single, batched, inputs, output, undefined);
    const differs = await session.probe();
    if (!differs) return session;
    if (batched !== single) await batched.release();
    return new BatchSession(single, undefined, inputs, output, differs);
  }

  /** Runs a few rows alone and as one batch; says what differs, or undefined when every byte matches. */
  private async probe(): Promise<string | undefined> {
    let state = 0x9e3779b9;
    const noise = (n: number) =>
      Float32Array.from({ length: n }, () => {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        return state / 2 ** 31 - 1;
      });
    const rows = [0, 1, 2].map(() => Object.fromEntries(this.inputs.map((i) => [i.name, noise(i.row.reduce((a, b) => a * b, 1))])));
    const alone = [];
    for (const r of rows) alone.push((await this.runBatch([r], this.single))[0]);
    const together = await this.runBatch(rows, this.batched!);
    for (const [k, out] of together.entries()) {
      const a = new Uint8Array(alone[k].buffer, alone[k].byteOffset, alone[k].byteLength);
      const b = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      if (a.length !== b.length || !a.every((v, j) => v === b[j])) return `row ${k} of a batch of ${rows.length} differs from the same row run alone`;
    }
    return undefined;
  }

  /**
   * One output row per input row, each exactly what the row gives alone. Rows go as one batch
   * when the network is batchable, else one after another.
   */
  async run(rows: ReadonlyArray<Record<string, Float32Array>>): Promise<Float32Array[]> {
    if (rows.length === 1 || !this.batched) {
      const out: Float32Array[] = [];
      for (const r of rows) out.push((await this.runBatch([r], this.single))[0]);
      return out;
    }
    return this.runBatch(rows, this.batched);
  }

  private async runBatch(rows: ReadonlyArray<Record<string, Float32Array>>, session: ort.InferenceSession): Promise<Float32Array[]> {
    const n = rows.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of this.inputs) {
      const size = input.row.reduce((a, b) => a * b, 1);
      let data: Float32Array;
      if (n === 1) {
        data = rows[0][input.name];
      } else {
        data = new Float32Array(n * size);
        rows.forEach((r, k) => data.set(r[input.name], k * size));
      }
      if (data.length !== n * size) throw new Error(`${input.name}: expected ${size} values per row, got ${data.length / n}`);
      feeds[input.name] = new ort.Tensor('float32', data, [n, ...input.row]);
    }
    const y = (await session.run(feeds))[this.output];
    if (y.dims[0] !== n) throw new Error(`${this.output}: expected a batch of ${n}, got [${y.dims.join(', ')}]`);
    const data = y.data as Float32Array;
    const per = data.length / n;
    return Array.from({ length: n }, (_, k) => data.subarray(k * per, (k + 1) * per));
  }

  async close(): Promise<void> {
    if (this.batched && this.batched !== this.single) await this.batched.release();
    await this.single.release();
  }
}
