// WebGPUBackend: the Backend kernel contract (engine/backend.ts) on WebGPU (Dawn in Node).
//
// Every method except `read` only records dispatches (engine/webgpu/runtime.ts batches them into
// one command encoder); kernels are WGSL files under shaders/. float32 and int32 only: float64
// requests throw. This class owns the storages and the live count; the sibling files own kernels.
// Each kernel method first runs the op table's argument check (CHECK.<name>, engine/op-table) with
// the webgpu dtype rules (./rules.ts).

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
import { rowHeads, runAttention, runAttentionBackward, runAttentionLayouts, runMaskedSoftmax } from './attention.js';
import { describeAdapter, releaseWebGPU, requestWebGPU, type AdapterDescription, type RequestWebGPUOptions, type WebGPUContext } from './device.js';
import { runAddScaled, runCast, runFill, runGeluBackward, runGeluSecond, runUnary } from './elementwise.js';
import { runCrossEntropyGradBackward } from './cross-entropy-grad-backward.js';
import { runLayerNormBackward, runLayerNormGradBackward, runLayerNormWeightGradBackward } from './layernorm-backward.js';
import { runGather, runOneHot, runScatterAdd } from './indexing.js';
import { runMatmul } from './matmul.js';
import { runAdam, runSgd, runSgdGroup } from './optim.js';
import { runArange, runRotaryTable } from './positions.js';
import { runDropoutMask } from './random.js';
import { runReduce } from './reduce.js';
import { runCrossEntropy, runCrossEntropyBackward, runLayerNorm, runSoftmax, runSoftmaxBackward } from './rows.js';
import { runTopk } from './topk.js';
import { Runtime } from './runtime.js';
import { WEBGPU } from './rules.js';
import { checkDType, gpuBuf, WebGPUStorage } from './storage.js';
import { runBinary, runCopy, runCopyInto, runPad, runWhere } from './strided.js';

export { FLOAT64_UNSUPPORTED, WebGPUStorage } from './storage.js';
export { NO_WEBGPU_HELP, describeAdapter, describeGpuAdapter, requestWebGPU, type AdapterDescription, type RequestWebGPUOptions } from './device.js';

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`webgpu: bad shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}




/** CPU rasterizers exposed as GPUs (kernels then prefer uniform-buffer-heavy paths). */
export function isSoftwareAdapter(d: AdapterDescription): boolean {
  return d.isFallbackAdapter || /llvmpipe|lavapipe|softpipe|swiftshader/i.test(`${d.device} ${d.description} ${d.vendor}`);
}

/**
 * The kernel family: 'gpu' (workgroup-memory tiles, wide row workgroups, the fused attention
 * kernel) or 'software' (uniform-window matmul, 16-wide row workgroups, attention through matmuls),
 * chosen from the adapter unless CAMELS_KERNELS (or the CLI's --kernels) forces one, so both families
 * can be tested and counted on any adapter.
 */
export type KernelFamily = 'gpu' | 'software';

/** CAMELS_KERNELS as a family, null when unset or 'auto'; anything else is an error. */
export function kernelFamilyFromEnv(env: string | undefined = process.env.CAMELS_KERNELS): KernelFamily | null {
  if (env === undefined || env === '' || env === 'auto') return null;
  if (env === 'gpu' || env === 'software') return env;
  throw new Error(`CAMELS_KERNELS: unknown kernel family '${env}' (expected gpu, software or auto)`);
}

let exitHookInstalled = false;
const liveBackends = new Set<WebGPUBackend>();

export class WebGPUBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly adapterName: string;
  /** The adapter is a CPU rasterizer (llvmpipe, SwiftShader, …), not a GPU. */
  readonly isSoftware: boolean;
  readonly rt: Runtime;
  private live = 0;
  private ctx: WebGPUContext | null;

  constructor(ctx: WebGPUContext) {
    this.ctx = ctx;
    this.rt = new Runtime(ctx.device);
    this.adapterName = ctx.description.name;
    this.isSoftware = isSoftwareAdapter(ctx.description);
    this.kernelFamily = kernelFamilyFromEnv() ?? (this.isSoftware ? 'software' : 'gpu');
    liveBackends.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const b of liveBackends) b.destroy();
      });
    }
  }

  /** The kernel family in use (see KernelFamily). */
  get kernelFamily(): KernelFamily {
    return this.rt.softwareAdapter ? 'software' : 'gpu';
  }

  set kernelFamily(f: KernelFamily) {
    if (f !== 'gpu' && f !== 'software') throw new Error(`webgpu: unknown kernel family '${String(f)}' (expected gpu or software)`);
    this.rt.softwareAdapter = f === 'software';
  }

  /** Adapter, backend, limits and features (for `camels-gpu info`). */
  describe(): AdapterDescription & { kernelFamily: KernelFamily } {
    if (!this.ctx) throw new Error('webgpu: backend was destroyed');
    return { ...describeAdapter(this.ctx)!, kernelFamily: this.kernelFamily };
  }

  get device(): GPUDevice {
    if (!this.ctx) throw new Error('webgpu: backend was destroyed');
    return this.ctx.device;
  }

  /**
   * Destroy the device and drop every Dawn reference so the process can exit (a live device keeps
   * a CPU core busy). Safe to call more than once and at process exit; pending work is dropped.
   */
  destroy(): void {
    if (!this.ctx) return;
    this.rt.destroy();
    releaseWebGPU(this.ctx);
    this.ctx = null;
    liveBackends.delete(this);
  }

  supportsDType(dtype: DType): boolean {
    return dtype === 'float32' || dtype === 'int32';
  }

  // ---------------------------------------------------------------- memory

  private out(size: number, dtype: DType): WebGPUStorage {
    const s = new WebGPUStorage(size, dtype, this.rt.alloc(size * 4));
    this.live++;
    return s;
  }

  fromArray(data: TypedArray, dtype: DType): Storage {
    checkDType(dtype, 'fromArray');
    let arr: Float32Array | Int32Array;
    if (dtype === 'float32') arr = data instanceof Float32Array ? data : Float32Array.from(data);
    else if (data instanceof Int32Array) arr = data;
    else {
      arr = new Int32Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        arr[i] = v !== v ? 0 : v >= 2147483647 ? 2147483647 : v <= -2147483648 ? -2147483648 : Math.trunc(v);
      }
    }
    const s = new WebGPUStorage(arr.length, dtype, this.rt.upload(arr));
    this.live++;
    return s;
  }

  full(size: number, dtype: DType, value: number): Storage {
    CHECK.full(WEBGPU, size, dtype, value);
    const s = this.out(size, dtype);
    runFill(this.rt, s.buf!, size, dtype, value);
    return s;
  }

  arange(size: number, dtype: DType, start: number, step: number, period: number): Storage {
    CHECK.arange(WEBGPU, size, dtype, start, step, period);
    const s = this.out(size, dtype);
    runArange(this.rt, s.buf!, size, dtype, start, step, period);
    return s;
  }

  async read(s: Storage): Promise<TypedArray> {
    const b = gpuBuf(s, 'read');
    const bytes = await this.rt.read(b, s.size * 4);
    return s.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  free(s: Storage): void {
    if (!(s instanceof WebGPUStorage)) throw new Error(`webgpu free: expected a webgpu storage, got one from backend '${s?.backend}'`);
    if (!s.buf) throw new Error(`webgpu free: storage (${s.dtype}[${s.size}]) was already freed`);
    if (this.ctx) this.rt.release(s.buf);
    s.buf = null;
    this.live--;
  }

  liveCount(): number {
    return this.live;
  }

  sync(): Promise<void> {
    return this.rt.sync();
  }

  /** Device memory held for tensors: allocated (live + pooled) bytes and their peak since resetPeak(). */
  memoryStats(): { liveBytes: number; peakBytes: number; pooledBytes: number; peakLiveBytes: number } {
    const p = this.rt.storage;
    return { liveBytes: p.allocatedBytes - p.pooledBytes, peakBytes: p.peakBytes, pooledBytes: p.pooledBytes, peakLiveBytes: p.peakLiveBytes };
  }

  resetPeak(): void {
    const p = this.rt.storage;
    p.peakBytes = p.allocatedBytes;
    p.peakLiveBytes = p.allocatedBytes - p.pooledBytes;
  }

  /** Destroy pooled free buffers. */
  trim(): void {
    this.rt.trim();
  }

  // ---------------------------------------------------------------- elementwise

  unary(op: UnaryOp, x: Storage, p0?: number, p1?: number): Storage {
    CHECK.unary(WEBGPU, op, x, p0, p1);
    const xb = gpuBuf(x, 'x');
    if (op === 'softplus') {
      p0 ??= 1;
      p1 ??= 20;
    } else if ((op === 'pow_scalar' || op === 'add_scalar' || op === 'mul_scalar') && typeof p0 !== 'number') {
      throw new Error(`webgpu unary '${op}': missing parameter p0`);
    }
    const y = this.out(x.size, x.dtype);
    try {
      runUnary(this.rt, op, x.dtype, xb, y.buf!, x.size, p0 ?? 0, p1 ?? 0);
    } catch (e) {
      this.free(y);
      throw e;
    }
    return y;
  }

  binary(op: BinaryOp, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Storage {
    CHECK.binary(WEBGPU, op, a, av, b, bv, outShape);
    const ab = gpuBuf(a, 'a');
    const bb = gpuBuf(b, 'b');
    const y = this.out(numel(outShape), a.dtype);
    try {
      runBinary(this.rt, op, a.dtype, ab, av, bb, bv, outShape, y.buf!);
    } catch (e) {
      this.free(y);
      throw e;
    }
    return y;
  }

  where(c: Storage, cv: View, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Storage {
    CHECK.where(WEBGPU, c, cv, a, av, b, bv, outShape);
    const y = this.out(numel(outShape), a.dtype);
    runWhere(this.rt, a.dtype, c.dtype, gpuBuf(c, 'cond'), cv, gpuBuf(a, 'a'), av, gpuBuf(b, 'b'), bv, outShape, y.buf!);
    return y;
  }

  cast(x: Storage, to: DType): Storage {
    CHECK.cast(WEBGPU, x, to);
    const y = this.out(x.size, to);
    if (x.dtype === to) this.rt.copyBuffer(gpuBuf(x), 0, y.buf!, 0, x.size * 4);
    else runCast(this.rt, x.dtype, to, gpuBuf(x), y.buf!, x.size);
    return y;
  }

  addScaled(a: Storage, b: Storage, alpha: number): Storage {
    CHECK.addScaled(WEBGPU, a, b, alpha);
    const y = this.out(a.size, 'float32');
    runAddScaled(this.rt, gpuBuf(a), gpuBuf(b), alpha, y.buf!, a.size);
    return y;
  }

  // ---------------------------------------------------------------- data movement

  copy(src: Storage, sv: View, shape: number[]): Storage {
    CHECK.copy(WEBGPU, src, sv, shape);
    const y = this.out(numel(shape), src.dtype);
    runCopy(this.rt, src.dtype, gpuBuf(src, 'src'), sv, shape, y.buf!);
    return y;
  }

  copyInto(dst: Storage, dv: View, src: Storage, sv: View, shape: number[]): void {
    CHECK.copyInto(WEBGPU, dst, dv, src, sv, shape);
    const db = gpuBuf(dst, 'dst');
    const sb = gpuBuf(src, 'src');
    if (db === sb) {
      // Same storage: gather the source first so overlapping views cannot corrupt it.
      const n = numel(shape);
      const tmp = this.rt.alloc(n * 4);
      runCopy(this.rt, src.dtype, sb, sv, shape, tmp);
      runCopyInto(this.rt, dst.dtype, db, dv, tmp, { offset: 0, strides: contiguousStrides(shape) }, shape);
      this.rt.release(tmp);
      return;
    }
    runCopyInto(this.rt, dst.dtype, db, dv, sb, sv, shape);
  }

  pad(src: Storage, shape: number[], before: number[], after: number[], value: number): Storage {
    CHECK.pad(WEBGPU, src, shape, before, after, value);
    const outShape = shape.map((d, i) => d + before[i]! + after[i]!);
    const y = this.out(numel(outShape), src.dtype);
    const sb = gpuBuf(src, 'src');
    if (!runPad(this.rt, src.dtype, sb, shape, before, after, value, y.buf!)) {
      const os = contiguousStrides(outShape);
      runFill(this.rt, y.buf!, numel(outShape), src.dtype, value);
      const offset = before.reduce((acc, p, i) => acc + p * os[i]!, 0);
      runCopyInto(this.rt, src.dtype, y.buf!, { offset, strides: os }, sb, { offset: 0, strides: contiguousStrides(shape) }, shape);
    }
    return y;
  }

  gather(table: Storage, N: number, D: number, idx: Storage): Storage {
    CHECK.gather(WEBGPU, table, N, D, idx);
    const M = idx.size;
    const y = this.out(M * D, table.dtype);
    runGather(this.rt, gpuBuf(table), N, D, gpuBuf(idx), M, y.buf!, table.dtype);
    return y;
  }

  scatterAdd(src: Storage, M: number, D: number, idx: Storage, N: number): Storage {
    CHECK.scatterAdd(WEBGPU, src, M, D, idx, N);
    const y = this.out(N * D, src.dtype);
    runScatterAdd(this.rt, src.dtype, gpuBuf(src), M, D, gpuBuf(idx), N, y.buf!);
    return y;
  }

  oneHot(idx: Storage, R: number, C: number, dtype: DType): Storage {
    CHECK.oneHot(WEBGPU, idx, R, C, dtype);
    const y = this.out(R * C, dtype);
    runOneHot(this.rt, gpuBuf(idx), R, C, dtype, y.buf!);
    return y;
  }

  topk(x: Storage, R: number, C: number, k: number): [Storage, Storage] {
    CHECK.topk(WEBGPU, x, R, C, k);
    const values = this.out(R * k, x.dtype);
    const indices = this.out(R * k, 'int32');
    runTopk(this.rt, gpuBuf(x), R, C, k, values.buf!, indices.buf!);
    return [values, indices];
  }

  // ---------------------------------------------------------------- reductions

  reduce(op: ReduceOp, x: Storage, shape: number[], axes: number[]): Storage {
    CHECK.reduce(WEBGPU, op, x, shape, axes);
    const outShape = shape.map((s, d) => (axes.includes(d) ? 1 : s));
    const y = this.out(numel(outShape), x.dtype);
    runReduce(this.rt, op, x.dtype, gpuBuf(x), shape, axes, y.buf!);
    return y;
  }

  // ---------------------------------------------------------------- linear algebra

  matmul(a: Storage, b: Storage, spec: MatmulSpec, bias?: Storage): Storage {
    CHECK.matmul(WEBGPU, a, b, spec, bias);
    const batch = numel(spec.batch);
    const y = this.out(batch * spec.M * spec.N, a.dtype);
    const biased = runMatmul(this.rt, gpuBuf(a, 'a'), gpuBuf(b, 'b'), spec, y.buf!, bias ? gpuBuf(bias, 'bias') : null);
    if (!bias || biased) return y;
    // Paths without the epilogue (software family, operands over one binding): a broadcast add.
    const rows = batch * spec.M;
    const out = this.binary('add', y, { offset: 0, strides: [spec.N, 1] }, bias, { offset: 0, strides: [0, 1] }, [rows, spec.N]);
    this.free(y);
    return out;
  }

  // ---------------------------------------------------------------- fused

  softmax(x: Storage, R: number, C: number): Storage {
    CHECK.softmax(WEBGPU, x, R, C);
    const y = this.out(R * C, x.dtype);
    runSoftmax(this.rt, false, gpuBuf(x), R, C, y.buf!);
    return y;
  }

  logSoftmax(x: Storage, R: number, C: number): Storage {
    CHECK.logSoftmax(WEBGPU, x, R, C);
    const y = this.out(R * C, x.dtype);
    runSoftmax(this.rt, true, gpuBuf(x), R, C, y.buf!);
    return y;
  }

  layerNorm(x: Storage, w: Storage, b: Storage, R: number, C: number, eps: number): Storage {
    CHECK.layerNorm(WEBGPU, x, w, b, R, C, eps);
    const y = this.out(R * C, x.dtype);
    runLayerNorm(this.rt, gpuBuf(x), gpuBuf(w), gpuBuf(b), R, C, eps, y.buf!);
    return y;
  }

  crossEntropy(logits: Storage, labels: Storage, R: number, V: number, ignoreIndex: number): Storage {
    CHECK.crossEntropy(WEBGPU, logits, labels, R, V, ignoreIndex);
    const y = this.out(R, logits.dtype);
    runCrossEntropy(this.rt, gpuBuf(logits), gpuBuf(labels), R, V, ignoreIndex, y.buf!);
    return y;
  }

  crossEntropyBackward(logits: Storage, labels: Storage, g: Storage, R: number, V: number, ignoreIndex: number): Storage {
    CHECK.crossEntropyBackward(WEBGPU, logits, labels, g, R, V, ignoreIndex);
    const y = this.out(R * V, logits.dtype);
    runCrossEntropyBackward(this.rt, gpuBuf(logits), gpuBuf(labels), gpuBuf(g), R, V, ignoreIndex, y.buf!);
    return y;
  }

  crossEntropyGradBackward(logits: Storage, labels: Storage, g: Storage, u: Storage, R: number, V: number, ignoreIndex: number): [Storage, Storage] {
    CHECK.crossEntropyGradBackward(WEBGPU, logits, labels, g, u, R, V, ignoreIndex);
    const xBar = this.out(R * V, 'float32');
    const gBar = this.out(R, 'float32');
    runCrossEntropyGradBackward(this.rt, gpuBuf(logits), gpuBuf(labels), gpuBuf(g), gpuBuf(u), R, V, ignoreIndex, xBar.buf!, gBar.buf!);
    return [xBar, gBar];
  }

  softmaxBackward(yIn: Storage, g: Storage, R: number, C: number): Storage {
    CHECK.softmaxBackward(WEBGPU, yIn, g, R, C);
    const dx = this.out(R * C, yIn.dtype);
    runSoftmaxBackward(this.rt, gpuBuf(yIn), gpuBuf(g), R, C, dx.buf!);
    return dx;
  }

  layerNormBackward(x: Storage, w: Storage, g: Storage, R: number, C: number, eps: number): [Storage, Storage, Storage] {
    CHECK.layerNormBackward(WEBGPU, x, w, g, R, C, eps);
    const dx = this.out(R * C, 'float32');
    const dw = this.out(C, 'float32');
    const db = this.out(C, 'float32');
    runLayerNormBackward(this.rt, gpuBuf(x), gpuBuf(w), gpuBuf(g), R, C, eps, dx.buf!, dw.buf!, db.buf!);
    return [dx, dw, db];
  }

  layerNormWeightGradBackward(x: Storage, g: Storage, a: Storage, R: number, C: number, eps: number): [Storage, Storage] {
    CHECK.layerNormWeightGradBackward(WEBGPU, x, g, a, R, C, eps);
    const xBar = this.out(R * C, 'float32');
    const gBar = this.out(R * C, 'float32');
    runLayerNormWeightGradBackward(this.rt, gpuBuf(x), gpuBuf(g), gpuBuf(a), R, C, eps, xBar.buf!, gBar.buf!);
    return [xBar, gBar];
  }

  layerNormGradBackward(x: Storage, w: Storage, g: Storage, dx: Storage, u: Storage, R: number, C: number, eps: number): [Storage, Storage, Storage] {
    CHECK.layerNormGradBackward(WEBGPU, x, w, g, dx, u, R, C, eps);
    const xBar = this.out(R * C, 'float32');
    const gBar = this.out(R * C, 'float32');
    const wBar = this.out(C, 'float32');
    runLayerNormGradBackward(this.rt, gpuBuf(x), gpuBuf(w), gpuBuf(g), gpuBuf(dx), gpuBuf(u), R, C, eps, xBar.buf!, gBar.buf!, wBar.buf!);
    return [xBar, gBar, wBar];
  }

  geluBackward(kind: GeluKind, x: Storage, g: Storage): Storage {
    CHECK.geluBackward(WEBGPU, kind, x, g);
    const dx = this.out(x.size, 'float32');
    try {
      runGeluBackward(this.rt, kind, gpuBuf(x), gpuBuf(g), dx.buf!, x.size);
    } catch (e) {
      this.free(dx);
      throw e;
    }
    return dx;
  }

  geluGradBackward(kind: GeluKind, x: Storage, g: Storage, u: Storage): [Storage, Storage] {
    CHECK.geluGradBackward(WEBGPU, kind, x, g, u);
    const xBar = this.out(x.size, 'float32');
    const gBar = this.out(x.size, 'float32');
    runGeluSecond(this.rt, kind, gpuBuf(x), gpuBuf(g), gpuBuf(u), xBar.buf!, x.size);
    runGeluBackward(this.rt, kind, gpuBuf(x), gpuBuf(u), gBar.buf!, x.size);
    return [xBar, gBar];
  }

  attentionBackward(q: Storage, k: Storage, v: Storage, out: Storage, g: Storage, keyMask: Storage | null, spec: AttentionSpec): [Storage, Storage, Storage] | null {
    CHECK.attentionBackward(WEBGPU, q, k, v, out, g, keyMask, spec);
    const n = spec.B * spec.H * spec.T * spec.D;
    const dq = this.out(n, 'float32');
    const dk = this.out(n, 'float32');
    const dv = this.out(n, 'float32');
    const done = runAttentionBackward(this.rt, gpuBuf(q), gpuBuf(k), gpuBuf(v), gpuBuf(out), gpuBuf(g), keyMask ? gpuBuf(keyMask) : null, keyMask?.dtype === 'float32', spec, dq.buf!, dk.buf!, dv.buf!);
    if (!done) {
      this.free(dq);
      this.free(dk);
      this.free(dv);
      return null;
    }
    return [dq, dk, dv];
  }

  attentionPacked(qkv: Storage, keyMask: Storage | null, spec: AttentionSpec): [Storage, Storage] | null {
    CHECK.attentionPacked(WEBGPU, qkv, keyMask, spec);
    const C = spec.H * spec.D;
    const y = this.out(spec.B * spec.T * C, 'float32');
    const lse = this.out(spec.B * spec.H * spec.T, 'float32');
    const b = gpuBuf(qkv);
    const ls = [rowHeads(spec, 3 * C, 0), rowHeads(spec, 3 * C, C), rowHeads(spec, 3 * C, 2 * C), rowHeads(spec, C, 0)] as const;
    if (!runAttentionLayouts(this.rt, b, b, b, keyMask ? gpuBuf(keyMask) : null, keyMask?.dtype === 'float32', spec, y.buf!, ls, lse.buf!)) {
      this.free(y);
      this.free(lse);
      return null;
    }
    return [y, lse];
  }

  attentionPackedBackward(qkv: Storage, out: Storage, g: Storage, lse: Storage | null, keyMask: Storage | null, spec: AttentionSpec): Storage | null {
    CHECK.attentionPackedBackward(WEBGPU, qkv, out, g, lse, keyMask, spec);
    const C = spec.H * spec.D;
    const d = this.out(spec.B * spec.T * 3 * C, 'float32');
    const b = gpuBuf(qkv);
    const q = rowHeads(spec, 3 * C, 0);
    const k = rowHeads(spec, 3 * C, C);
    const v = rowHeads(spec, 3 * C, 2 * C);
    const m = rowHeads(spec, C, 0);
    const done = runAttentionBackward(this.rt, b, b, b, gpuBuf(out), gpuBuf(g), keyMask ? gpuBuf(keyMask) : null, keyMask?.dtype === 'float32', spec, d.buf!, d.buf!, null, [q, k, v, m, m, q, k, v], lse ? gpuBuf(lse) : null);
    if (!done) {
      this.free(d);
      return null;
    }
    return d;
  }

  attentionRows(q: Storage, k: Storage, v: Storage, keyMask: Storage | null, spec: AttentionSpec): [Storage, Storage] | null {
    CHECK.attentionRows(WEBGPU, q, k, v, keyMask, spec);
    const C = spec.H * spec.D;
    const y = this.out(spec.B * spec.T * C, 'float32');
    const lse = this.out(spec.B * spec.H * spec.T, 'float32');
    const l = rowHeads(spec, C, 0);
    if (!runAttentionLayouts(this.rt, gpuBuf(q), gpuBuf(k), gpuBuf(v), keyMask ? gpuBuf(keyMask) : null, keyMask?.dtype === 'float32', spec, y.buf!, [l, l, l, l], lse.buf!)) {
      this.free(y);
      this.free(lse);
      return null;
    }
    return [y, lse];
  }

  attentionRowsBackward(q: Storage, k: Storage, v: Storage, out: Storage, g: Storage, lse: Storage | null, keyMask: Storage | null, spec: AttentionSpec): [Storage, Storage, Storage] | null {
    CHECK.attentionRowsBackward(WEBGPU, q, k, v, out, g, lse, keyMask, spec);
    const n = spec.B * spec.T * spec.H * spec.D;
    const dq = this.out(n, 'float32');
    const dk = this.out(n, 'float32');
    const dv = this.out(n, 'float32');
    const l = rowHeads(spec, spec.H * spec.D, 0);
    const done = runAttentionBackward(this.rt, gpuBuf(q), gpuBuf(k), gpuBuf(v), gpuBuf(out), gpuBuf(g), keyMask ? gpuBuf(keyMask) : null, keyMask?.dtype === 'float32', spec, dq.buf!, dk.buf!, dv.buf!, [l, l, l, l, l, l, l, l], lse ? gpuBuf(lse) : null);
    if (!done) {
      this.free(dq);
      this.free(dk);
      this.free(dv);
      return null;
    }
    return [dq, dk, dv];
  }



  rotaryTable(positions: Storage, n: number, invFreq: readonly number[], fn: 'cos' | 'sin', dtype: DType): Storage {
    CHECK.rotaryTable(WEBGPU, positions, n, invFreq, fn, dtype);
    const y = this.out(n * 2 * invFreq.length, dtype);
    try {
      runRotaryTable(this.rt, gpuBuf(positions, 'positions'), y.buf!, n, invFreq, fn);
    } catch (e) {
      this.free(y);
      throw e;
    }
    return y;
  }

  attention(q: Storage, k: Storage, v: Storage, keyMask: Storage | null, spec: AttentionSpec): Storage {
    CHECK.attention(WEBGPU, q, k, v, keyMask, spec);
    const n = spec.B * spec.H * spec.T * spec.D;
    const y = this.out(n, q.dtype);
    runAttention(
      this.rt,
      gpuBuf(q),
      gpuBuf(k),
      gpuBuf(v),
      keyMask ? gpuBuf(keyMask) : null,
      keyMask?.dtype === 'float32',
      spec,
      y.buf!,
    );
    return y;
  }

  maskedSoftmax(scores: Storage, keyMask: Storage | null, spec: AttentionSpec): Storage {
    CHECK.maskedSoftmax(WEBGPU, scores, keyMask, spec);
    const n = spec.B * spec.H * spec.T * spec.T;
    const p = this.out(n, 'float32');
    // the probabilities only: dropout belongs to the attention kernels (the op applies E.dropout after this)
    runMaskedSoftmax(this.rt, gpuBuf(scores), keyMask ? gpuBuf(keyMask) : null, keyMask?.dtype === 'float32', { ...spec, dropout: 0 }, p.buf!);
    return p;
  }

  // ---------------------------------------------------------------- randomness

  dropoutMask(size: number, p: number, seed: number, dtype: DType): Storage {
    CHECK.dropoutMask(WEBGPU, size, p, seed, dtype);
    const y = this.out(size, dtype);
    try {
      runDropoutMask(this.rt, size, p, seed, y.buf!);
    } catch (e) {
      this.free(y);
      throw e;
    }
    return y;
  }

  // ---------------------------------------------------------------- optimizers

  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, gradScale: Storage | null, spec: AdamSpec): void {
    CHECK.adamStep(WEBGPU, param, grad, m, v, gradScale, spec);
    runAdam(this.rt, gpuBuf(param), gpuBuf(grad), gpuBuf(m), gpuBuf(v), gradScale ? gpuBuf(gradScale) : null, param.size, spec);
  }

  sgdStepInPlace(param: Storage, grad: Storage, lr: number, gradScale: Storage | null): void {
    CHECK.sgdStepInPlace(WEBGPU, param, grad, lr, gradScale);
    runSgd(this.rt, gpuBuf(param), gpuBuf(grad), gradScale ? gpuBuf(gradScale) : null, param.size, lr);
  }

  sgdStepInPlaceGroup(params: Storage[], grads: Storage[], lr: number): void {
    CHECK.sgdStepInPlaceGroup(WEBGPU, params, grads, lr);
    runSgdGroup(this.rt, params.map((p) => gpuBuf(p)), grads.map((g) => gpuBuf(g)), params.map((p) => p.size), lr);
  }
}

function contiguousStrides(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i]!;
  }
  return st;
}

/** Create the WebGPU backend, or null when no adapter is available. */
export async function createWebGPUBackend(opts?: RequestWebGPUOptions): Promise<WebGPUBackend | null> {
  const ctx = await requestWebGPU(opts);
  return ctx ? new WebGPUBackend(ctx) : null;
}
