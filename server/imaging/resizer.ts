import * as ort from 'onnxruntime-node';
import type { RawFace } from '../generator/onnx-generator';
import { sessionOptions } from '../generator/session-options';
import { DataType, onnxModel, type GraphSpec, type NodeSpec, type ValueSpec } from '../onnx/onnx-proto';
import { blurredMatrix, lanczosMatrix, sharpenSigma, transpose } from './resample-weights';

/**
 * Unsharp mask after upscaling, in 8-bit luma units. Same shape as libvips' sharpen (gentle
 * slope m1 up to x1, steeper m2 beyond, brightening capped at y2, darkening at y3; libvips'
 * defaults x1=2, y2=10, y3=20 on its 0-100 L scale are x2.55 here), applied to luma in RGB
 * rather than after an sRGB -> LAB -> sRGB round trip.
 */
export const USM = { m1: 0.5, m2: 1.5, x1: 5, y2: 26, y3: 51 };

/** BT.601 luma weights. */
const LUMA = [0.299, 0.587, 0.114];

const OPSET = 17;

/**
 * The resize as an onnxruntime graph: packed 8-bit RGB (h x w x 3) and the Lanczos matrices in,
 * packed 8-bit RGB (H x W x 3) out. Planes are resized as Rv · X · Rhᵀ (3 batched GEMMs; planar
 * so that every GEMM and broadcast has a long contiguous inner dimension), and the one large
 * transpose, back to packed RGB, happens on bytes at the end.
 *
 * With `sharpen`, the unsharp mask works on luma, as libvips' sharpen does on L: luma is linear
 * in RGB, so the detail (luma of the resize minus the same blurred) is one GEMM on the source's
 * luma, m1 · [Rv | −Bv] · [L · Rhᵀ ; L · Bhᵀ], shaped by USM and added to all three planes.
 */
export function resizeGraph(sharpen: boolean): GraphSpec {
  const n = (op: string, inputs: string[], outputs: string[], attributes?: NodeSpec['attributes']): NodeSpec => ({ op, inputs, outputs, attributes });
  const nodes: NodeSpec[] = [
    n('Cast', ['x'], ['xf'], [{ name: 'to', int: DataType.FLOAT }]),
    n('Transpose', ['xf'], ['xc'], [{ name: 'perm', ints: [2, 0, 1] }]), // 3 x h x w
    n('MatMul', ['xc', 'rht'], ['t']), // 3 x h x W
    n('MatMul', ['rv', 't'], ['y']), // 3 x H x W
  ];
  const inputs: ValueSpec[] = [
    { name: 'x', type: DataType.UINT8, dims: ['h', 'w', 3] },
    { name: 'rv', type: DataType.FLOAT, dims: ['H', 'h'] },
    { name: 'rht', type: DataType.FLOAT, dims: ['w', 'W'] },
  ];
  const initializers: GraphSpec['initializers'] = [
    { name: 'zero', dims: [], values: [0] },
    // Cast truncates: adding one half first rounds, and the top stays below 255.5.
    { name: 'top', dims: [], values: [255.49] },
    { name: 'half', dims: [], values: [0.5] },
  ];
  let rounding = 'half';
  if (sharpen) {
    const { m1, m2, x1, y2, y3 } = USM;
    inputs.push(
      { name: 'detail_v', type: DataType.FLOAT, dims: ['H', 'h2'] }, // m1 · [Rv | −Bv]
      { name: 'detail_ht', type: DataType.FLOAT, dims: [2, 'w', 'W'] }, // [Rhᵀ ; Bhᵀ]
    );
    initializers.push(
      { name: 'luma', dims: [3, 1], values: LUMA },
      { name: 'knee', dims: [], values: [m1 * x1] },
      { name: 'neg_knee', dims: [], values: [-m1 * x1] },
      { name: 'steeper', dims: [], values: [(m2 - m1) / m1] },
      { name: 'darkest', dims: [], values: [0.5 - y3] },
      { name: 'brightest', dims: [], values: [0.5 + y2] },
    );
    nodes.push(
      n('MatMul', ['xf', 'luma'], ['l1']), // h x w x 1
      n('Transpose', ['l1'], ['l'], [{ name: 'perm', ints: [2, 0, 1] }]), // 1 x h x w
      n('MatMul', ['l', 'detail_ht'], ['lt']), // 2 x h x W
      n('Flatten', ['lt'], ['lt2'], [{ name: 'axis', int: 2 }]), // 2h x W
      n('MatMul', ['detail_v', 'lt2'], ['d']), // H x W: m1 · (luma − blurred luma)
      // m1·d + (m2 − m1)·(relu(d − x1) − relu(−d − x1)): slope m1 up to x1, m2 beyond.
      n('Sub', ['d', 'knee'], ['above']),
      n('Relu', ['above'], ['up']),
      n('Sub', ['neg_knee', 'd'], ['below']),
      n('Relu', ['below'], ['down']),
      n('Sub', ['up', 'down'], ['beyond']),
      n('Mul', ['beyond', 'steeper'], ['extra']),
      n('Add', ['d', 'extra'], ['shaped']),
      n('Add', ['shaped', 'half'], ['shaped_half']),
      n('Clip', ['shaped_half', 'darkest', 'brightest'], ['delta_half']), // capped, plus the rounding half
    );
    rounding = 'delta_half';
  }
  nodes.push(
    n('Add', ['y', rounding], ['ys']),
    n('Clip', ['ys', 'zero', 'top'], ['yc']),
    n('Cast', ['yc'], ['y8'], [{ name: 'to', int: DataType.UINT8 }]),
    n('Transpose', ['y8'], ['out'], [{ name: 'perm', ints: [1, 2, 0] }]), // H x W x 3
  );
  return {
    name: sharpen ? 'resize_sharpen' : 'resize',
    opset: OPSET,
    nodes,
    inputs,
    outputs: [{ name: 'out', type: DataType.UINT8, dims: ['H', 'W', 3] }],
    initializers,
  };
}

interface Matrices {
  rv: ort.Tensor;
  rht: ort.Tensor;
  /** Present when upscaling: the unsharp mask's detail matrices. */
  sharpen?: { detail_v: ort.Tensor; detail_ht: ort.Tensor };
}

/** Resize matrices kept for the most recent (source, output) sides: up to 3 MB each (128 -> 1024 px). */
const CACHED_SIZES = 8;

/**
 * Native face -> packed RGB at the requested size: Lanczos-3, then the luma unsharp mask when
 * upscaling. Runs in onnxruntime with the networks' fixed session options, so the bytes are a
 * function of the input and the build, and the work stays off the event loop.
 */
export class Resizer {
  private readonly cache = new Map<string, Matrices>();

  private constructor(
    private readonly plain: ort.InferenceSession,
    private readonly sharpened: ort.InferenceSession,
  ) {}

  static async create(threads = 2): Promise<Resizer> {
    const opts = sessionOptions(threads);
    const [plain, sharpened] = await Promise.all([
      ort.InferenceSession.create(onnxModel(resizeGraph(false)), opts),
      ort.InferenceSession.create(onnxModel(resizeGraph(true)), opts),
    ]);
    return new Resizer(plain, sharpened);
  }

  async resize(face: RawFace, resolution: number): Promise<Buffer> {
    if (resolution === face.size) return Buffer.from(face.data);
    const m = this.matrices(face.size, resolution);
    const x = new ort.Tensor('uint8', face.data, [face.size, face.size, 3]);
    const out = m.sharpen
      ? await this.sharpened.run({ x, rv: m.rv, rht: m.rht, ...m.sharpen })
      : await this.plain.run({ x, rv: m.rv, rht: m.rht });
    const data = out.out.data as Uint8Array;
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  private matrices(src: number, dst: number): Matrices {
    const key = `${src}>${dst}`;
    let m = this.cache.get(key);
    if (m) {
      this.cache.delete(key); // re-insert: Map order is recency
    } else {
      const r = lanczosMatrix(src, dst);
      const rt = transpose(r, dst, src);
      m = { rv: new ort.Tensor('float32', r, [dst, src]), rht: new ort.Tensor('float32', rt, [src, dst]) };
      if (dst > src) {
        const b = blurredMatrix(r, src, dst, sharpenSigma(dst, src));
        const v = new Float32Array(dst * 2 * src);
        for (let o = 0; o < dst; o++) {
          for (let j = 0; j < src; j++) {
            v[o * 2 * src + j] = USM.m1 * r[o * src + j];
            v[o * 2 * src + src + j] = -USM.m1 * b[o * src + j];
          }
        }
        const ht = new Float32Array(2 * src * dst);
        ht.set(rt);
        ht.set(transpose(b, dst, src), src * dst);
        m.sharpen = { detail_v: new ort.Tensor('float32', v, [dst, 2 * src]), detail_ht: new ort.Tensor('float32', ht, [2, src, dst]) };
      }
      if (this.cache.size >= CACHED_SIZES) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(key, m);
    return m;
  }

  async close(): Promise<void> {
    await Promise.all([this.plain.release(), this.sharpened.release()]);
  }
}
