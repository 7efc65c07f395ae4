// FastCpuBackend: the cpu backend that `--device cpu` runs. It is the reference CpuBackend
// (engine/cpu) with float32 kernels replaced by fast ones — WebAssembly SIMD generated in
// TypeScript, threaded over shared memory — where the runtime has WebAssembly SIMD; float64,
// int32 and everything without a fast kernel run the reference loops. Storages are the
// reference's CpuStorage, so tensors move freely between the two. Float32 arrays of 256 elements
// or more live in the shared WebAssembly memory (resident, so kernels read and write them in place;
// wasm-heap.ts) and are recycled when freed; CAMELS_CPU_RESIDENT=0 makes them ordinary arrays again
// (recycled by array-pool.ts), which kernels copy in and out.
//
// CAMELS_CPU_KERNELS=reference makes the cpu device the plain reference (see engine/device.ts).
// Overrides run the op table's argument check (CHECK.<name>) before choosing a path, as the
// reference does.

import type { AdamSpec, AttentionSpec, BinaryOp, DType, GeluKind, MatmulSpec, ReduceOp, Storage, UnaryOp, View } from '../backend.js';
import { dropThreshold, mix32 } from '../random.js';
import { CpuBackend } from '../cpu/index.js';
import { CPU } from '../cpu/rules.js';
import { CHECK } from '../op-table/index.js';
import { addBiasRows } from '../cpu/matmul.js';
import { setFloat32Recycler } from '../cpu/storage.js';
import { BINARY_WASM_OPS, type BinaryWasmOp } from './binary-wasm.js';
import { binary, unary, wasmBinary, wasmScalarUnary, where } from './elementwise.js';
import { fastAttention, fastMaskedSoftmax } from './attention.js';
import { fastCrossEntropyGradBackward } from './cross-entropy-grad-backward.js';
import { fastMatmul } from './matmul.js';
import { fastCopy, fastCopyInto } from './movement.js';
import { fastCrossEntropy, fastCrossEntropyBackward, fastGeluTanh, fastGeluTanhBackwardSimd, fastLayerNorm, fastLogSoftmax, fastMap, fastSoftmax, fastSoftmaxBackward, fastSum } from './rows.js';
import { fastAdamStep } from './optim.js';
import { fastGeluTanhGradBackward, type SimdExp } from './gelu-backward.js';
import { finishOut, float32Recycler, kernelOut, resetScratch, wasmHeap, type WasmHeap } from './wasm-heap.js';

export { float32Pool } from './wasm-heap.js';

const WASM_MIN_ELEMENTS = 256;
const WASM_BINARY = new Set<string>(BINARY_WASM_OPS);

export class FastCpuBackend extends CpuBackend {
  override readonly adapterName: string;
  private readonly heap: WasmHeap | null;

  constructor() {
    super();
    this.heap = wasmHeap();
    setFloat32Recycler(float32Recycler());
    // maskedSoftmax is optional in the interface: without WebAssembly the op's composite runs
    if (!this.heap) (this as { maskedSoftmax?: unknown }).maskedSoftmax = undefined;
    this.adapterName = this.heap ? `cpu (wasm simd${this.heap.relaxed ? ' + relaxed madd' : ''}${this.heap.shared ? ', threads' : ''})` : 'cpu (no wasm simd: reference kernels)';
  }

  /** True when float32 kernels run on WebAssembly (false: this runtime lacks SIMD). */
  get accelerated(): boolean {
    return this.heap !== null;
  }

  override unary(op: UnaryOp, x: Storage, p0?: number, p1?: number): Storage {
    CHECK.unary(CPU, op, x, p0, p1);
    if (x.dtype !== 'float32') return super.unary(op, x, p0, p1);
    if (op === 'gelu_tanh' && this.onWasm(x, x.size)) return this.wrap(fastGeluTanh(this.heap!, x), 'float32');
    if ((op === 'tanh' || op === 'exp') && this.onWasm(x, x.size)) return this.wrap(fastMap(this.heap!, op, x), 'float32');
    if ((op === 'neg' || ((op === 'mul_scalar' || op === 'add_scalar') && typeof p0 === 'number')) && this.onWasm(x, x.size)) {
      return this.wrap(wasmScalarUnary(this.heap!, op, x, p0 ?? 0), 'float32');
    }
    return this.wrap(unary(op, x, p0, p1), x.dtype);
  }

  /** SIMD exp of float32 arrays for the GELU backward (consumes its input; results released after use). */
  private readonly simdExp: SimdExp = {
    exp: (v) => {
      const s = this.wrap(v, 'float32');
      try {
        return fastMap(this.heap!, 'exp', s);
      } finally {
        this.free(s);
      }
    },
    release: (a) => this.free(this.wrap(a, 'float32')),
  };

  override geluBackward(kind: GeluKind, x: Storage, g: Storage): Storage {
    CHECK.geluBackward(CPU, kind, x, g);
    if (kind !== 'gelu_tanh' || x.dtype !== 'float32' || g.dtype !== 'float32' || g.size !== x.size || !this.onWasm(x, x.size)) return super.geluBackward(kind, x, g);
    return this.wrap(fastGeluTanhBackwardSimd(this.heap!, x, g), 'float32');
  }

  override geluGradBackward(kind: GeluKind, x: Storage, g: Storage, u: Storage): [Storage, Storage] {
    CHECK.geluGradBackward(CPU, kind, x, g, u);
    if (kind !== 'gelu_tanh' || x.dtype !== 'float32' || g.dtype !== 'float32' || u.dtype !== 'float32' || g.size !== x.size || u.size !== x.size || !this.onWasm(x, x.size)) return super.geluGradBackward(kind, x, g, u);
    const [xBar, gBar] = fastGeluTanhGradBackward(x, g, u, this.simdExp);
    return [this.wrap(xBar, 'float32'), this.wrap(gBar, 'float32')];
  }

  override binary(op: BinaryOp, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Storage {
    CHECK.binary(CPU, op, a, av, b, bv, outShape);
    if (a.dtype !== 'float32') return super.binary(op, a, av, b, bv, outShape);
    if (this.heap && WASM_BINARY.has(op) && b.dtype === 'float32' && outShape.reduce((n, d) => n * d, 1) >= WASM_MIN_ELEMENTS) {
      const out = wasmBinary(this.heap, op as BinaryWasmOp, a, av, b, bv, outShape);
      if (out) return this.wrap(out, 'float32');
    }
    return this.wrap(binary(op, a, av, b, bv, outShape), a.dtype);
  }

  override where(c: Storage, cv: View, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Storage {
    CHECK.where(CPU, c, cv, a, av, b, bv, outShape);
    if (a.dtype !== 'float32') return super.where(c, cv, a, av, b, bv, outShape);
    return this.wrap(where(c, cv, a, av, b, bv, outShape), a.dtype);
  }

  /** Float32 work of n elements goes to WebAssembly from WASM_MIN_ELEMENTS (the size from which arrays are resident; below, a call costs more than it saves). */
  private onWasm(x: Storage, n: number): boolean {
    return this.heap !== null && x.dtype === 'float32' && n >= WASM_MIN_ELEMENTS;
  }

  override softmax(x: Storage, R: number, C: number): Storage {
    CHECK.softmax(CPU, x, R, C);
    if (!this.onWasm(x, R * C) || x.size !== R * C) return super.softmax(x, R, C);
    return this.wrap(fastSoftmax(this.heap!, x, R, C), 'float32');
  }

  override copy(src: Storage, sv: View, shape: number[]): Storage {
    CHECK.copy(CPU, src, sv, shape);
    if (this.onWasm(src, shape.reduce((n, d) => n * d, 1))) {
      const out = fastCopy(this.heap!, src, sv, shape);
      if (out) return this.wrap(out, 'float32');
    }
    return super.copy(src, sv, shape);
  }

  override copyInto(dst: Storage, dv: View, src: Storage, sv: View, shape: number[]): void {
    CHECK.copyInto(CPU, dst, dv, src, sv, shape);
    if (dst.dtype === 'float32' && this.onWasm(src, shape.reduce((n, d) => n * d, 1)) && fastCopyInto(this.heap!, dst, dv, src, sv, shape)) return;
    super.copyInto(dst, dv, src, sv, shape);
  }

  override dropoutMask(size: number, p: number, seed: number, dtype: DType): Storage {
    CHECK.dropoutMask(CPU, size, p, seed, dtype);
    if (dtype !== 'float32' || !this.heap || !Number.isInteger(size) || size < WASM_MIN_ELEMENTS || !(p >= 0 && p < 1)) return super.dropoutMask(size, p, seed, dtype);
    resetScratch();
    const o = kernelOut(this.heap, size);
    this.heap.unary.dropoutMask(o.addr, size, mix32(seed) | 0, dropThreshold(p), 1 / (1 - p));
    return this.wrap(finishOut(this.heap, o), 'float32');
  }

  override logSoftmax(x: Storage, R: number, C: number): Storage {
    CHECK.logSoftmax(CPU, x, R, C);
    if (!this.onWasm(x, R * C) || x.size !== R * C || C % 4 !== 0) return super.logSoftmax(x, R, C);
    return this.wrap(fastLogSoftmax(this.heap!, x, R, C), 'float32');
  }

  override adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, gradScale: Storage | null, spec: AdamSpec): void {
    CHECK.adamStep(CPU, param, grad, m, v, gradScale, spec);
    const f32 = param.dtype === 'float32' && grad.dtype === 'float32' && m.dtype === 'float32' && v.dtype === 'float32';
    const sized = grad.size === param.size && m.size === param.size && v.size === param.size;
    if (f32 && sized && this.onWasm(param, param.size) && fastAdamStep(this.heap!, param, grad, m, v, gradScale, spec)) return;
    super.adamStep(param, grad, m, v, gradScale, spec);
  }

  override softmaxBackward(y: Storage, g: Storage, R: number, C: number): Storage {
    CHECK.softmaxBackward(CPU, y, g, R, C);
    if (!this.onWasm(y, R * C) || g.dtype !== 'float32' || y.size !== R * C || g.size !== R * C) return super.softmaxBackward(y, g, R, C);
    return this.wrap(fastSoftmaxBackward(this.heap!, y, g, R, C), 'float32');
  }

  override layerNorm(x: Storage, w: Storage, b: Storage, R: number, C: number, eps: number): Storage {
    CHECK.layerNorm(CPU, x, w, b, R, C, eps);
    if (!this.onWasm(x, R * C) || w.dtype !== 'float32' || b.dtype !== 'float32' || x.size !== R * C || w.size !== C || b.size !== C) return super.layerNorm(x, w, b, R, C, eps);
    return this.wrap(fastLayerNorm(this.heap!, x, w, b, R, C, eps), 'float32');
  }

  override reduce(op: ReduceOp, x: Storage, shape: number[], axes: number[]): Storage {
    CHECK.reduce(CPU, op, x, shape, axes);
    if (op === 'sum' && this.onWasm(x, x.size) && validAxes(shape, axes) && shape.reduce((n, d) => n * d, 1) === x.size) {
      const out = fastSum(this.heap!, x, shape, axes);
      if (out) return this.wrap(out, 'float32');
    }
    return super.reduce(op, x, shape, axes);
  }

  override crossEntropy(logits: Storage, labels: Storage, R: number, V: number, ignoreIndex: number): Storage {
    CHECK.crossEntropy(CPU, logits, labels, R, V, ignoreIndex);
    if (!this.onWasm(logits, R * V) || logits.size !== R * V) return super.crossEntropy(logits, labels, R, V, ignoreIndex);
    return this.wrap(fastCrossEntropy(this.heap!, logits, labels, R, V, ignoreIndex), 'float32');
  }

  override crossEntropyBackward(logits: Storage, labels: Storage, g: Storage, R: number, V: number, ignoreIndex: number): Storage {
    CHECK.crossEntropyBackward(CPU, logits, labels, g, R, V, ignoreIndex);
    if (!this.onWasm(logits, R * V) || logits.size !== R * V || g.dtype !== 'float32') return super.crossEntropyBackward(logits, labels, g, R, V, ignoreIndex);
    return this.wrap(fastCrossEntropyBackward(this.heap!, logits, labels, g, R, V, ignoreIndex), 'float32');
  }

  override crossEntropyGradBackward(logits: Storage, labels: Storage, g: Storage, u: Storage, R: number, V: number, ignoreIndex: number): [Storage, Storage] {
    CHECK.crossEntropyGradBackward(CPU, logits, labels, g, u, R, V, ignoreIndex);
    if (!this.onWasm(logits, R * V) || g.dtype !== 'float32' || u.dtype !== 'float32') return super.crossEntropyGradBackward(logits, labels, g, u, R, V, ignoreIndex);
    const [xBar, gBar] = fastCrossEntropyGradBackward(this.heap!, logits, labels, g, u, R, V, ignoreIndex, this.simdExp.release);
    return [this.wrap(xBar, 'float32'), this.wrap(gBar, 'float32')];
  }

  override attention(q: Storage, k: Storage, v: Storage, keyMask: Storage | null, spec: AttentionSpec): Storage {
    CHECK.attention(CPU, q, k, v, keyMask, spec);
    if (!this.onWasm(q, spec.B * spec.H * spec.T * spec.T)) return super.attention(q, k, v, keyMask, spec);
    return this.wrap(fastAttention(this.heap!, q, k, v, keyMask, spec), 'float32');
  }

  /** Attention probabilities (the attention backward's); float32 scores only (the op sends others to its composite). */
  maskedSoftmax(scores: Storage, keyMask: Storage | null, spec: AttentionSpec): Storage {
    CHECK.maskedSoftmax(CPU, scores, keyMask, spec);
    if (scores.dtype !== 'float32' || !this.heap) throw new Error(`cpu maskedSoftmax: float32 scores on WebAssembly only, got ${scores.dtype}`);
    return this.wrap(fastMaskedSoftmax(this.heap, scores, keyMask, spec), 'float32');
  }

  override matmul(a: Storage, b: Storage, spec: MatmulSpec, bias?: Storage): Storage {
    CHECK.matmul(CPU, a, b, spec, bias);
    if (this.heap && a.dtype === 'float32' && b.dtype === 'float32') {
      const out = fastMatmul(this.heap, a, b, spec);
      if (bias) addBiasRows(out, bias, spec.N);
      return this.wrap(out, 'float32');
    }
    return super.matmul(a, b, spec, bias);
  }
}

/** Axes sorted, unique and within the shape (else the reference reports the error). */
function validAxes(shape: number[], axes: number[]): boolean {
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]!;
    if (!Number.isInteger(a) || a < 0 || a >= shape.length || (i > 0 && a <= axes[i - 1]!)) return false;
  }
  return shape.every((d) => Number.isInteger(d) && d >= 0);
}
