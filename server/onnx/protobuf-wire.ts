/**
 * Just enough of the protobuf wire format for ONNX models in memory: split a message into its
 * fields (keeping each field's exact bytes, so whatever is not edited is written back unchanged)
 * and build new fields. The generator edits exported models with it (row-wise.ts); onnx-proto.ts
 * writes the graphs the server builds in code.
 */

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export interface WireField {
  field: number;
  wire: number;
  /** The whole field as encoded: key, length and payload. */
  encoded: Uint8Array;
  /** The payload of a length-delimited field (a sub-message, string or bytes). */
  payload: Uint8Array;
  /** The value of a varint field. */
  varint: bigint;
}

function readVarint(buf: Uint8Array, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (at >= buf.length) throw new Error('protobuf: truncated varint');
    const b = buf[at++];
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return [v, at];
    shift += 7n;
  }
}

/** The fields of one message, in order. */
export function readFields(buf: Uint8Array): WireField[] {
  const out: WireField[] = [];
  let at = 0;
  while (at < buf.length) {
    const start = at;
    const [key, afterKey] = readVarint(buf, at);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    at = afterKey;
    let payload = buf.subarray(at, at);
    let varint = 0n;
    if (wire === WIRE_VARINT) {
      [varint, at] = readVarint(buf, at);
    } else if (wire === WIRE_LEN) {
      const [len, afterLen] = readVarint(buf, at);
      payload = buf.subarray(afterLen, afterLen + Number(len));
      at = afterLen + Number(len);
    } else if (wire === WIRE_I64) {
      at += 8;
    } else if (wire === WIRE_I32) {
      at += 4;
    } else {
      throw new Error(`protobuf: unsupported wire type ${wire}`);
    }
    if (at > buf.length) throw new Error('protobuf: truncated field');
    out.push({ field, wire, encoded: buf.subarray(start, at), payload, varint });
  }
  return out;
}

/** The values of a packed repeated varint field. */
export function packedVarints(payload: Uint8Array): bigint[] {
  const out: bigint[] = [];
  for (let at = 0; at < payload.length; ) {
    const [v, next] = readVarint(payload, at);
    out.push(v);
    at = next;
  }
  return out;
}

export const text = (f: WireField) => new TextDecoder().decode(f.payload);

export function varintBytes(v: bigint): Uint8Array {
  // int64 fields carry negative values as ten-byte two's complement varints.
  let u = BigInt.asUintN(64, v);
  const bytes: number[] = [];
  do {
    let b = Number(u & 0x7fn);
    u >>= 7n;
    if (u !== 0n) b |= 0x80;
    bytes.push(b);
  } while (u !== 0n);
  return Uint8Array.from(bytes);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const key = (field: number, wire: number) => varintBytes(BigInt((field << 3) | wire));
export const varintField = (field: number, v: number | bigint) => concat([key(field, WIRE_VARINT), varintBytes(BigInt(v))]);
export const bytesField = (field: number, b: Uint8Array) => concat([key(field, WIRE_LEN), varintBytes(BigInt(b.length)), b]);
export const stringField = (field: number, s: string) => bytesField(field, new TextEncoder().encode(s));
