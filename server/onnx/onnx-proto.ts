/**
 * A minimal writer of ONNX models (protobuf wire format) for the small fixed graphs the server
 * builds in code: a handful of standard operators, tensor inputs with symbolic dimensions and
 * small float initializers. onnxruntime loads the bytes directly, so no graph file ships or goes
 * stale. Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, ...).
 */
import { concat, varintBytes } from './protobuf-wire';

export const DataType = { FLOAT: 1, UINT8: 2, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

export type Attribute = { name: string; int: number } | { name: string; ints: number[] } | { name: string; float: number };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

export interface ValueSpec {
  name: string;
  type: DataTypeCode;
  /** Fixed sizes as numbers, symbolic ones as names. */
  dims: (number | string)[];
}

export interface InitializerSpec {
  name: string;
  dims: number[];
  /** FLOAT initializers hold numbers, INT64 ones bigints. */
  values: number[] | bigint[];
}

export interface GraphSpec {
  name: string;
  opset: number;
  nodes: NodeSpec[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  initializers?: InitializerSpec[];
}

/** Bytes of one protobuf message, built field by field. */
class Message {
  private readonly parts: Uint8Array[] = [];

  private varint(v: bigint): void {
    this.parts.push(varintBytes(v));
  }

  private key(field: number, wire: 0 | 2 | 5): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, v: number | bigint): this {
    this.key(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.varint(BigInt(b.length));
    this.parts.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Message): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    return concat(this.parts);
  }
}

// AttributeProto.AttributeType
const FLOAT_ATTR = 1;
const INT_ATTR = 2;
const INTS_ATTR = 7;

function attribute(a: Attribute): Message {
  const m = new Message().string(1, a.name);
  if ('float' in a) return m.float(2, a.float).int(20, FLOAT_ATTR);
  if ('int' in a) return m.int(3, a.int).int(20, INT_ATTR);
  for (const v of a.ints) m.int(8, v);
  return m.int(20, INTS_ATTR);
}

function node(n: NodeSpec, index: number): Message {
  const m = new Message();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, `${n.op}_${index}`).string(4, n.op);
  for (const a of n.attributes ?? []) m.message(5, attribute(a));
  return m;
}

function valueInfo(v: ValueSpec): Message {
  const shape = new Message();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  const tensorType = new Message().int(1, v.type).message(2, shape);
  return new Message().string(1, v.name).message(2, new Message().message(1, tensorType));
}

function initializer(t: InitializerSpec): Message {
  const m = new Message();
  for (const d of t.dims) m.int(1, d);
  const isInt = typeof t.values[0] === 'bigint';
  m.int(2, isInt ? DataType.INT64 : DataType.FLOAT).string(8, t.name);
  // raw_data: little-endian values, as onnx.proto specifies.
  const raw = isInt ? new BigInt64Array(t.values as bigint[]) : new Float32Array(t.values as number[]);
  return m.bytes(9, new Uint8Array(raw.buffer));
}

/** A serialised ModelProto (IR version 8) for onnxruntime's InferenceSession.create(bytes). */
export function onnxModel(g: GraphSpec): Uint8Array {
  const graph = new Message();
  g.nodes.forEach((n, i) => graph.message(1, node(n, i)));
  graph.string(2, g.name);
  for (const t of g.initializers ?? []) graph.message(5, initializer(t));
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  return new Message()
    .int(1, 8)
    .string(2, 'facestudio')
    .message(7, graph)
    .message(8, new Message().string(1, '').int(2, g.opset))
    .finish();
}
