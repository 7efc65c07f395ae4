// CpuBackend: the reference implementation of the Backend kernel contract (engine/backend.ts).
// Kernels live in the sibling files and return plain arrays; this class wraps them in storages and
// keeps the live-storage count. Everything runs synchronously; float64 is computed in float64
// throughout (it is the gradient-check reference). Each kernel method first runs the op table's
// argument check (CHECK.<name>, engine/op-table) with the cpu dtype rules (./rules.ts).

import type {
  AdamSpec,
  AttentionSpec,
  Backend,
  BinaryOp,
  DType,
  GeluKind,
  MatmulSpec,
  ReduceOp,
  Storage,
  TypedArray,
  UnaryOp,
  View,
} from '../backend.js';
import { CHECK } from '../op-table/index.js';
import { attention } from './attention.js';
import { attentionBackward } from './attention-backward.js';
import { dropoutMask } from './dropout.js';
import { binary, cast, unary, where } from './elementwise.js';
import { crossEntropyGradBackward } from './cross-entropy-grad-backward.js';
import { crossEntropy, crossEntropyBackward, layerNorm, logSoftmax, softmax, softmaxBackward } from './fused.js';
import { geluBackward, geluGradBackward } from './gelu-backward.js';
import { layerNormBackward, layerNormGradBackward, layerNormWeightGradBackward } from './layernorm-backward.js';
import { addBiasRows, matmul } from './matmul.js';
import { copy, copyInto, gather, oneHot, scatterAdd } from './movement.js';
import { adamStep, sgdStepInPlace } from './optim.js';
import { arange, rotaryTable } from './positions.js';
import { reduce } from './reduce.js';
import { CPU } from './rules.js';
import { toInt32 } from './scalar.js';
import { topk } from './topk.js';
import { allocArray, convertArray, CpuStorage, dataOf, type LiveCounter } from './storage.js';

export { CpuStorage, cpuData } from './storage.js';

const DTYPES: readonly DType[] = ['float32', 'float64', 'int32'];

function checkDtype(dtype: DType, op: string): void {
  if (!DTYPES.includes(dtype)) throw new Error(`cpu ${op}: unknown dtype '${String(dtype)}'`);
}

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly adapterName: string = 'cpu';
  private readonly counter: LiveCounter = { live: 0 };

  supportsDType(dtype: DType): boolean {
    return DTYPES.includes(dtype);
  }

  protected wrap(data: TypedArray, dtype: DType): CpuStorage {
    return new CpuStorage(dtype, data, this.counter);
  }

  // ---- memory ----

  fromArray(data: TypedArray, dtype: DType): Storage {
    checkDtype(dtype, 'fromArray');
    return this.wrap(convertArray(data, dtype), dtype);
  }

  full(size: number, dtype: DType, value: number): Storage {
    CHECK.full(CPU, size, dtype, value);
    const data = allocArray(dtype, size);
    data.fill(dtype === 'int32' ? toInt32(value) : value);
    return this.wrap(data, dtype);
  }

  arange(size: number, dtype: DType, start: number, step: number, period: number): Storage {
    CHECK.arange(CPU, size, dtype, start, step, period);
    return this.wrap(arange(size, dtype, start, step, period), dtype);
  }

  read(s: Storage): Promise<TypedArray> {
    try {
      return Promise.resolve(dataOf(s, 'read').slice());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  free(s: Storage): void {
    if (!(s instanceof CpuStorage)) throw new Error(`cpu free: expected a cpu storage, got one from backend '${s?.backend}'`);
    s.free('free');
  }

  liveCount(): number {
    return this.counter.live;
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }

  // ---- elementwise ----

  unary(op: UnaryOp, x: Storage, p0?: number, p1?: number): Storage {
    CHECK.unary(CPU, op, x, p0, p1);
    return this.wrap(unary(op, x, p0, p1), x.dtype);
  }

  binary(op: BinaryOp, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Storage {
    CHECK.binary(CPU, op, a, av, b, bv, outShape);
    return this.wrap(binary(op, a, av, b, bv, outShape), a.dtype);
  }

  where(c: Storage, cv: View, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Storage {
    CHECK.where(CPU, c, cv, a, av, b, bv, outShape);
    return this.wrap(where(c, cv, a, av, b, bv, outShape), a.dtype);
  }

  cast(x: Storage, to: DType): Storage {
    CHECK.cast(CPU, x, to);
    return this.wrap(cast(x, to), to);
  }

  // ---- data movement ----

  copy(src: Storage, sv: View, shape: number[]): Storage {
    CHECK.copy(CPU, src, sv, shape);
    return this.wrap(copy(src, sv, shape), src.dtype);
  }

  copyInto(dst: Storage, dv: View, src: Storage, sv: View, shape: number[]): void {
    CHECK.copyInto(CPU, dst, dv, src, sv, shape);
    copyInto(dst, dv, src, sv, shape);
  }

  gather(table: Storage, N: number, D: number, idx: Storage): Storage {
    CHECK.gather(CPU, table, N, D, idx);
    return this.wrap(gather(table, N, D, idx), table.dtype);
  }

  scatterAdd(src: Storage, M: number, D: number, idx: Storage, N: number): Storage {
    CHECK.scatterAdd(CPU, src, M, D, idx, N);
    return this.wrap(scatterAdd(src, M, D, idx, N), src.dtype);
  }

  oneHot(idx: Storage, R: number, C: number, dtype: DType): Storage {
    CHECK.oneHot(CPU, idx, R, C, dtype);
    return this.wrap(oneHot(idx, R, C, dtype), dtype);
  }

  // ---- reductions ----

  reduce(op: ReduceOp, x: Storage, shape: number[], axes: number[]): Storage {
    CHECK.reduce(CPU, op, x, shape, axes);
    return this.wrap(reduce(op, x, shape, axes), x.dtype);
  }

  topk(x: Storage, R: number, C: number, k: number): [Storage, Storage] {
    CHECK.topk(CPU, x, R, C, k);
    const [values, indices] = topk(x, R, C, k);
    return [this.wrap(values, x.dtype), this.wrap(indices, 'int32')];
  }

  // ---- linear algebra ----

  matmul(a: Storage, b: Storage, spec: MatmulSpec, bias?: Storage): Storage {
    CHECK.matmul(CPU, a, b, spec, bias);
    const out = matmul(a, b, spec);
    if (bias) addBiasRows(out, bias, spec.N);
    return this.wrap(out, a.dtype);
  }

  // ---- fused ----

  softmax(x: Storage, R: number, C: number): Storage {
    CHECK.softmax(CPU, x, R, C);
    return this.wrap(softmax(x, R, C), x.dtype);
  }

  logSoftmax(x: Storage, R: number, C: number): Storage {
    CHECK.logSoftmax(CPU, x, R, C);
    return this.wrap(logSoftmax(x, R, C), x.dtype);
  }

  layerNorm(x: Storage, w: Storage, b: Storage, R: number, C: number, eps: number): Storage {
    CHECK.layerNorm(CPU, x, w, b, R, C, eps);
    return this.wrap(layerNorm(x, w, b, R, C, eps), x.dtype);
  }

  layerNormBackward(x: Storage, w: Storage, g: Storage, R: number, C: number, eps: number): [Storage, Storage, Storage] {
    CHECK.layerNormBackward(CPU, x, w, g, R, C, eps);
    const [dx, dw, db] = layerNormBackward(x, w, g, R, C, eps);
    return [this.wrap(dx, x.dtype), this.wrap(dw, x.dtype), this.wrap(db, x.dtype)];
  }

  geluBackward(kind: GeluKind, x: Storage, g: Storage): Storage {
    CHECK.geluBackward(CPU, kind, x, g);
    return this.wrap(geluBackward(kind, x, g), x.dtype);
  }

  geluGradBackward(kind: GeluKind, x: Storage, g: Storage, u: Storage): [Storage, Storage] {
    CHECK.geluGradBackward(CPU, kind, x, g, u);
    const [xBar, gBar] = geluGradBackward(kind, x, g, u);
    return [this.wrap(xBar, x.dtype), this.wrap(gBar, x.dtype)];
  }

  layerNormWeightGradBackward(x: Storage, g: Storage, a: Storage, R: number, C: number, eps: number): [Storage, Storage] {
    CHECK.layerNormWeightGradBackward(CPU, x, g, a, R, C, eps);
    const [xBar, gBar] = layerNormWeightGradBackward(x, g, a, R, C, eps);
    return [this.wrap(xBar, x.dtype), this.wrap(gBar, x.dtype)];
  }

  layerNormGradBackward(x: Storage, w: Storage, g: Storage, dx: Storage, u: Storage, R: number, C: number, eps: number): [Storage, Storage, Storage] {
    CHECK.layerNormGradBackward(CPU, x, w, g, dx, u, R, C, eps);
    const [xBar, gBar, wBar] = layerNormGradBackward(x, w, g, dx, u, R, C, eps);
    return [this.wrap(xBar, x.dtype), this.wrap(gBar, x.dtype), this.wrap(wBar, x.dtype)];
  }

  crossEntropyBackward(logits: Storage, labels: Storage, g: Storage, R: number, V: number, ignoreIndex: number): Storage {
    CHECK.crossEntropyBackward(CPU, logits, labels, g, R, V, ignoreIndex);
    return this.wrap(crossEntropyBackward(logits, labels, g, R, V, ignoreIndex), logits.dtype);
  }

  crossEntropyGradBackward(logits: Storage, labels: Storage, g: Storage, u: Storage, R: number, V: number, ignoreIndex: number): [Storage, Storage] {
    CHECK.crossEntropyGradBackward(CPU, logits, labels, g, u, R, V, ignoreIndex);
    const [xBar, gBar] = crossEntropyGradBackward(logits, labels, g, u, R, V, ignoreIndex);
    return [this.wrap(xBar, logits.dtype), this.wrap(gBar, logits.dtype)];
  }

  softmaxBackward(y: Storage, g: Storage, R: number, C: number): Storage {
    CHECK.softmaxBackward(CPU, y, g, R, C);
    return this.wrap(softmaxBackward(y, g, R, C), y.dtype);
  }

  crossEntropy(logits: Storage, labels: Storage, R: number, V: number, ignoreIndex: number): Storage {
    CHECK.crossEntropy(CPU, logits, labels, R, V, ignoreIndex);
    return this.wrap(crossEntropy(logits, labels, R, V, ignoreIndex), logits.dtype);
  }

  /**
   * The reference loop for float64 (gradient checks test the fused first-order backward through it);
   * float32 keeps the composite backward (the fast cpu path's matmuls and softmax).
   */
  attentionBackward(q: Storage, k: Storage, v: Storage, out: Storage, g: Storage, keyMask: Storage | null, spec: AttentionSpec): [Storage, Storage, Storage] | null {
    CHECK.attentionBackward(CPU, q, k, v, out, g, keyMask, spec);
    if (q.dtype !== 'float64') return null;
    const [dq, dk, dv] = attentionBackward(q, k, v, out, g, keyMask, spec);
    return [this.wrap(dq, q.dtype), this.wrap(dk, q.dtype), this.wrap(dv, q.dtype)];
  }

  rotaryTable(positions: Storage, n: number, invFreq: readonly number[], fn: 'cos' | 'sin', dtype: DType): Storage {
    CHECK.rotaryTable(CPU, positions, n, invFreq, fn, dtype);
    return this.wrap(rotaryTable(positions, n, invFreq, fn, dtype), dtype);
  }

  attention(q: Storage, k: Storage, v: Storage, keyMask: Storage | null, spec: AttentionSpec): Storage {
    CHECK.attention(CPU, q, k, v, keyMask, spec);
    return this.wrap(attention(q, k, v, keyMask, spec), q.dtype);
  }

  // ---- randomness ----

  dropoutMask(size: number, p: number, seed: number, dtype: DType): Storage {
    CHECK.dropoutMask(CPU, size, p, seed, dtype);
    return this.wrap(dropoutMask(size, p, seed, dtype), dtype);
  }

  // ---- optimizers ----

  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, gradScale: Storage | null, spec: AdamSpec): void {
    CHECK.adamStep(CPU, param, grad, m, v, gradScale, spec);
    adamStep(param, grad, m, v, gradScale, spec);
  }

  sgdStepInPlace(param: Storage, grad: Storage, lr: number, gradScale: Storage | null): void {
    CHECK.sgdStepInPlace(CPU, param, grad, lr, gradScale);
    sgdStepInPlace(param, grad, lr, gradScale);
  }
}
