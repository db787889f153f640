import { WIRE_LEN, WIRE_VARINT, bytesField, concat, packedVarints, readFields, stringField, text, varintField, type WireField } from '../onnx/protobuf-wire';

/**
 * onnxruntime's CPU kernels for a few operators take another code path when the batch is 1:
 * MLAS multiplies a single row (Gemm, MatMul with M = 1) with a dedicated kernel, and a
 * reduction over a [1, C, ...] tensor is planned as a different loop than over [N, C, ...].
 * Both sum in another order, so a face computed in a batch would differ in the last bits from
 * the same face computed alone: not byte-identical per seed.
 *
 * `rowWise` rewrites such operators so that each batch row is computed exactly as a lone one:
 * the operator is wrapped in a Scan over the batch axis whose body restores the axis with size
 * 1 (Unsqueeze), runs the original node unchanged (same attributes, same outer weights) and
 * drops the axis again. Every other operator (convolutions, elementwise, resize) runs on the
 * whole batch. Whether the result really matches lone runs is checked on the loaded sessions
 * (batch-session.ts), not assumed.
 */

/** Operators whose kernels onnxruntime picks by batch size (measured on the shipped models). */
const MATRIX_OPS = new Set(['Gemm', 'MatMul']);
const REDUCE_OPS = new Set(['ReduceMean', 'ReduceSum', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSumExp', 'ReduceMax', 'ReduceMin', 'ReduceProd']);

// onnx.proto field numbers.
const MODEL = { graph: 7, opsetImport: 8 };
const OPSET = { domain: 1, version: 2 };
const GRAPH = { node: 1, name: 2, input: 11, output: 12 };
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 };
const ATTR = { name: 1, i: 3, t: 5, g: 6, ints: 8, type: 20 };
const ATTR_TYPE = { INT: 2, TENSOR: 4, GRAPH: 5 };
const TENSOR = { dims: 1, dataType: 2, rawData: 9 };
const ELEM = { FLOAT: 1, INT64: 7 };

interface NodeFields {
  inputs: string[];
  outputs: string[];
  name: string;
  opType: string;
  domain: string;
  attributes: WireField[];
}

function parseNode(payload: Uint8Array): NodeFields {
  const n: NodeFields = { inputs: [], outputs: [], name: '', opType: '', domain: '', attributes: [] };
  for (const f of readFields(payload)) {
    if (f.field === NODE.input) n.inputs.push(text(f));
    else if (f.field === NODE.output) n.outputs.push(text(f));
    else if (f.field === NODE.name) n.name = text(f);
    else if (f.field === NODE.opType) n.opType = text(f);
    else if (f.field === NODE.domain) n.domain = text(f);
    else if (f.field === NODE.attribute) n.attributes.push(f);
  }
  return n;
}

/** The `axes` attribute of a reduction, or undefined when it has none (axes as an input, or all axes). */
function axesOf(n: NodeFields): bigint[] | undefined {
  for (const a of n.attributes) {
    const fields = readFields(a.payload);
    if (fields.find((f) => f.field === ATTR.name && text(f) === 'axes') === undefined) continue;
    const axes: bigint[] = [];
    for (const f of fields) {
      if (f.field !== ATTR.ints) continue;
      if (f.wire === WIRE_VARINT) axes.push(BigInt.asIntN(64, f.varint));
      else if (f.wire === WIRE_LEN) for (const v of packedVarints(f.payload)) axes.push(BigInt.asIntN(64, v));
    }
    return axes;
  }
  return undefined;
}

/** Whether a node's kernel depends on the batch size and running it row by row keeps its meaning. */
function needsRows(n: NodeFields): boolean {
  if (n.domain !== '' && n.domain !== 'ai.onnx') return false;
  if (n.outputs.length !== 1 || n.inputs.length === 0) return false;
  if (MATRIX_OPS.has(n.opType)) return true;
  if (!REDUCE_OPS.has(n.opType)) return false;
  // Only reductions that keep the batch axis: over axis 0, or axes counted from the end
  // (whose rank is unknown here), rows would not be the same operation.
  const axes = axesOf(n);
  return axes !== undefined && axes.length > 0 && axes.every((a) => a > 0n);
}

const node = (n: { inputs: string[]; outputs: string[]; name: string; opType: string; domain?: string; attributes: Uint8Array[] }) =>
  concat([
    ...n.inputs.map((i) => stringField(NODE.input, i)),
    ...n.outputs.map((o) => stringField(NODE.output, o)),
    stringField(NODE.name, n.name),
    stringField(NODE.opType, n.opType),
    ...n.attributes,
    ...(n.domain ? [stringField(NODE.domain, n.domain)] : []),
  ]);

const attribute = (name: string, type: number, value: Uint8Array) => bytesField(NODE.attribute, concat([stringField(ATTR.name, name), value, varintField(ATTR.type, type)]));

/** A float tensor value of unspecified shape (a Scan body's input or output). */
const floatValue = (field: number, name: string) =>
  bytesField(field, concat([stringField(1, name), bytesField(2, bytesField(1, varintField(1, ELEM.FLOAT)))]));

/** The Scan node that runs `n` once per row of its first input. */
function scanOverRows(n: NodeFields, index: number): Uint8Array {
  const p = `${n.name || n.opType}/rows${index}`;
  const axis0 = concat([varintField(TENSOR.dims, 1), varintField(TENSOR.dataType, ELEM.INT64), bytesField(TENSOR.rawData, new Uint8Array(8))]);
  const body = concat([
    bytesField(GRAPH.node, node({ inputs: [], outputs: [`${p}/axis0`], name: `${p}/axis0`, opType: 'Constant', attributes: [attribute('value', ATTR_TYPE.TENSOR, bytesField(ATTR.t, axis0))] })),
    bytesField(GRAPH.node, node({ inputs: [`${p}/row`, `${p}/axis0`], outputs: [`${p}/row1`], name: `${p}/unsqueeze`, opType: 'Unsqueeze', attributes: [] })),
    bytesField(GRAPH.node, node({ inputs: [`${p}/row1`, ...n.inputs.slice(1)], outputs: [`${p}/out1`], name: n.name, opType: n.opType, domain: n.domain, attributes: n.attributes.map((a) => a.encoded) })),
    bytesField(GRAPH.node, node({ inputs: [`${p}/out1`, `${p}/axis0`], outputs: [`${p}/out`], name: `${p}/squeeze`, opType: 'Squeeze', attributes: [] })),
    stringField(GRAPH.name, p),
    floatValue(GRAPH.input, `${p}/row`),
    floatValue(GRAPH.output, `${p}/out`),
  ]);
  return node({
    inputs: [n.inputs[0]],
    outputs: n.outputs,
    name: p,
    opType: 'Scan',
    attributes: [attribute('body', ATTR_TYPE.GRAPH, bytesField(ATTR.g, body)), attribute('num_scan_inputs', ATTR_TYPE.INT, varintField(ATTR.i, 1))],
  });
}

function defaultOpset(model: WireField[]): number {
  for (const f of model) {
    if (f.field !== MODEL.opsetImport) continue;
    const fields = readFields(f.payload);
    const domain = fields.find((x) => x.field === OPSET.domain);
    if (domain === undefined || text(domain) === '' || text(domain) === 'ai.onnx') return Number(fields.find((x) => x.field === OPSET.version)?.varint ?? 0n);
  }
  return 0;
}

/**
 * A serialised ONNX model -> the same model with batch-size-dependent operators run row by row,
 * and how many were rewritten (0: the bytes come back unchanged). Opsets before 13 (Unsqueeze and
 * Squeeze with axes as attributes) are left alone.
 */
export function rowWise(model: Uint8Array): { model: Uint8Array; rewritten: number } {
  const fields = readFields(model);
  if (defaultOpset(fields) < 13) return { model, rewritten: 0 };
  let rewritten = 0;
  const parts = fields.map((f) => {
    if (f.field !== MODEL.graph || f.wire !== WIRE_LEN) return f.encoded;
    const graph = readFields(f.payload).map((g) => {
      if (g.field !== GRAPH.node) return g.encoded;
      const n = parseNode(g.payload);
      if (!needsRows(n)) return g.encoded;
      return bytesField(GRAPH.node, scanOverRows(n, rewritten++));
    });
    return bytesField(MODEL.graph, concat(graph));
  });
  return { model: rewritten ? concat(parts) : model, rewritten };
}
