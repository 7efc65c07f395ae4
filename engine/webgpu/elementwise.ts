// Elementwise kernels: unary ops, casts, fill, the first-order GELU backward, a + alpha·b. The op bodies below are the only WGSL text
// substituted into a shader (shaders/elementwise.wgsl, at its OP_BODY marker).

import type { DType, UnaryOp } from '../backend.js';
import type { Binding, Runtime } from './runtime.js';
import { wgslType } from './storage.js';
import { forEachElementPiece } from './windows.js';

const WG = 256;

/** WGSL bodies of `fn op(v: TI) -> TO` for float32. */
const F32_BODIES: Record<UnaryOp, string> = {
  neg: 'return -v;',
  exp: 'return exp(v);',
  log: 'return log(v);',
  sqrt: 'return sqrt(v);',
  rsqrt: 'return 1.0 / sqrt(v);',
  abs: 'return abs(v);',
  sign: 'return sign(v);',
  tanh: 'return tanh_f(v);',
  sigmoid: 'return sigmoid_f(v);',
  relu: 'return max(v, 0.0);',
  step: 'return select(0.0, 1.0, v > 0.0);',
  erf: 'return erf_f(v);',
  gelu_tanh: 'return gelu_tanh_f(v);',
  gelu_erf: 'return gelu_erf_f(v);',
  softplus: 'return softplus_f(v, u.p0, u.p1);',
  pow_scalar: 'return pow_f(v, u.p0);',
  add_scalar: 'return v + u.p0;',
  mul_scalar: 'return v * u.p0;',
};

/** int32 unary ops (scalars are converted to i32, truncating). */
const I32_BODIES: Partial<Record<UnaryOp, string>> = {
  neg: 'return -v;',
  abs: 'return abs(v);',
  sign: 'return sign(v);',
  add_scalar: 'return v + i32(u.p0);',
  mul_scalar: 'return v * i32(u.p0);',
};

/** Grid for n elements at four per invocation. */
function grid(rt: Runtime, n: number): [number, number] {
  return rt.grid(Math.ceil(n / 4 / WG));
}

export function runUnary(
  rt: Runtime,
  op: UnaryOp,
  dtype: DType,
  x: Binding,
  y: Binding,
  n: number,
  p0 = 0,
  p1 = 0,
): void {
  const t = wgslType(dtype);
  const body = t === 'f32' ? F32_BODIES[op] : I32_BODIES[op];
  if (body === undefined) throw new Error(`webgpu: unary ${op} is not defined for ${dtype}`);
  const k = rt.kernel({ file: 'elementwise.wgsl', entry: 'unary', bindings: 'rw', aliases: { TI: t, TO: t }, opBody: body });
  forEachElementPiece(rt, n, [x, y], (b, _start, count) => {
    const [gx, gy] = grid(rt, count);
    rt.dispatch(k, b, (w) => w.u(count).f(p0).f(p1), gx, gy);
  });
}

/** GELU kinds with a fused first-order backward (GRAD override of gelu_backward). */
export const GELU_GRAD = { gelu_tanh: 0, gelu_erf: 1 } as const;

/** dx = g * gelu'(x) over n float32 elements (x, g, dx contiguous). */
export function runGeluBackward(rt: Runtime, kind: keyof typeof GELU_GRAD, x: Binding, g: Binding, dx: Binding, n: number): void {
  const GRAD = GELU_GRAD[kind];
  if (GRAD === undefined) throw new Error(`webgpu geluBackward: unknown kind '${String(kind)}' (gelu_tanh or gelu_erf)`);
  const k = rt.kernel({
    file: 'elementwise.wgsl',
    entry: 'geluBackward',
    bindings: 'rwr',
    aliases: { TI: 'f32', TO: 'f32' },
    opBody: 'return v;',
    constants: { GRAD },
  });
  forEachElementPiece(rt, n, [x, dx, g], (b, _start, count) => {
    const [gx, gy] = grid(rt, count);
    rt.dispatch(k, b, (w) => w.u(count), gx, gy);
  });
}

/** dx = g · g2 · gelu''(x) over n float32 elements (x, g, g2, dx contiguous). */
export function runGeluSecond(rt: Runtime, kind: keyof typeof GELU_GRAD, x: Binding, g: Binding, g2: Binding, dx: Binding, n: number): void {
  const GRAD = GELU_GRAD[kind];
  if (GRAD === undefined) throw new Error(`webgpu geluGradBackward: unknown kind '${String(kind)}' (gelu_tanh or gelu_erf)`);
  const k = rt.kernel({ file: 'elementwise.wgsl', entry: 'geluGradBackward', bindings: 'rwrr', aliases: { TI: 'f32', TO: 'f32' }, opBody: 'return v;', constants: { GRAD } });
  forEachElementPiece(rt, n, [x, dx, g, g2], (b, _start, count) => {
    const [gx, gy] = grid(rt, count);
    rt.dispatch(k, b, (w) => w.u(count), gx, gy);
  });
}

/** y = a + alpha * b over n float32 elements (a, b, y contiguous). */
export function runAddScaled(rt: Runtime, a: Binding, b: Binding, alpha: number, y: Binding, n: number): void {
  const k = rt.kernel({ file: 'elementwise.wgsl', entry: 'addScaled', bindings: 'rwr', aliases: { TI: 'f32', TO: 'f32' }, opBody: 'return v;' });
  forEachElementPiece(rt, n, [a, y, b], (bufs, _start, count) => {
    const [gx, gy] = grid(rt, count);
    rt.dispatch(k, bufs, (w) => w.u(count).f(alpha), gx, gy);
  });
}

export function runCast(rt: Runtime, from: DType, to: DType, x: Binding, y: Binding, n: number): void {
  const ti = wgslType(from);
  const to_ = wgslType(to);
  const k = rt.kernel({ file: 'elementwise.wgsl', entry: 'unary', bindings: 'rw', aliases: { TI: ti, TO: to_ }, opBody: 'return TO(v);' });
  forEachElementPiece(rt, n, [x, y], (b, _start, count) => {
    const [gx, gy] = grid(rt, count);
    rt.dispatch(k, b, (w) => w.u(count), gx, gy);
  });
}

const bitsF32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bitsF32.buffer);

/** The 32-bit pattern of `value` stored as dtype. */
export function valueBits(value: number, dtype: DType): number {
  if (dtype === 'int32') return (value | 0) >>> 0;
  bitsF32[0] = value;
  return bitsU32[0]!;
}

export function runFill(rt: Runtime, y: Binding, n: number, dtype: DType, value: number): void {
  const bits = valueBits(value, dtype);
  const k = rt.kernel({ file: 'full.wgsl', entry: 'full', bindings: 'w' });
  forEachElementPiece(rt, n, [y], (b, _start, count) => {
    const [gx, gy] = grid(rt, count);
    rt.dispatch(k, b, (w) => w.u(count).u(bits), gx, gy);
  });
}
