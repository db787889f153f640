/**
 * Jest runs each test file in its own VM realm, so a Float32Array made by a native addon
 * (onnxruntime-node) is not `instanceof` the test realm's Float32Array and onnxruntime
 * rejects its own output. Sharing the host's typed-array constructors fixes that.
 */
const { TestEnvironment } = require('jest-environment-node');

class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const T of [Float32Array, Float64Array, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array, ArrayBuffer]) {
      this.global[T.name] = T;
    }
  }
}

module.exports = SharedTypedArraysEnvironment;
