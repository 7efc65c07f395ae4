// Fast elementwise kernels (float32 on the fast cpu path): unary ops and strided binary ops with
// the op compiled into the loop, and where over coalesced views; add / sub / mul / div / max / min
// in WebAssembly SIMD for full and row- or column-broadcast layouts (binary-wasm.ts, bit-identical). Values are computed in float64 and rounded once on write, exactly
// as the reference (engine/cpu/elementwise.ts) computes them, so results are identical.
//
// Speed: every (op, dtype) pair gets its own loop, generated once from a one-line expression with
// `new Function` (the expressions are the fixed strings below, never caller input), so V8 compiles
// a monomorphic loop with the op inlined instead of calling a closure per element. Strided operands
// are first coalesced (strided.ts coalesceViews): the loops then run over the few remaining dims
// with a contiguous inner row, specialised for the common same-shape, row-broadcast (stride 1 in the
// inner dim, 0 in an outer one), column-broadcast / scalar (stride 0 in the inner dim) layouts.

import type { BinaryOp, Storage, TypedArray, UnaryOp, View } from '../backend.js';
import { powC } from '../cpu/elementwise.js';
import { erf, geluErf, geluTanh, sigmoid, softplus, toInt32 } from '../cpu/scalar.js';
import { allocArray, dataOf, requireSameDtype } from '../cpu/storage.js';
import { checkView, coalesceViews, numel } from '../cpu/strided.js';
import type { BinaryWasmOp, OperandKind } from './binary-wasm.js';
import { finishOut, kernelOut, resetScratch, stageIn, type WasmHeap } from './wasm-heap.js';

// ---- kernel generation ----

/** Helpers visible to the generated loops by these names. */
const HELPER_NAMES = ['powC', 'erf', 'geluErf', 'geluTanh', 'sigmoid', 'softplus', 'toInt32'] as const;
const HELPERS = [powC, erf, geluErf, geluTanh, sigmoid, softplus, toInt32];

/** Compile `body` (the statements of a function of `params`) with the helpers in scope. */
function compile<F>(params: string, body: string): F {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function(...HELPER_NAMES, `'use strict'; return function kernel(${params}) {\n${body}\n};`);
  return factory(...HELPERS) as F;
}

/**
 * Loop `j` over [0, L) running `lane(j)` (a statement using the index expression it is given), four
 * lanes per pass plus a remainder loop: V8 does not unroll, and this saves about a third of the
 * loop overhead on contiguous rows. Lanes are independent elements, so results do not change.
 */
function unrolled(lane: (j: string) => string): string {
  return `let j = 0;
for (; j + 3 < L; j += 4) {
  { ${lane('j')} }
  { ${lane('j + 1')} }
  { ${lane('j + 2')} }
  { ${lane('j + 3')} }
}
for (; j < L; j++) { ${lane('j')} }`;
}

type UnaryKernel = (X: TypedArray, out: TypedArray, c0: number, c1: number) => void;
type BinaryKernel = (
  out: TypedArray,
  A: TypedArray,
  B: TypedArray,
  shape: number[],
  oa: number,
  sa: number[],
  ob: number,
  sb: number[],
) => void;

const unaryKernels = new Map<string, UnaryKernel>();
const binaryKernels = new Map<string, BinaryKernel>();

/** out[i] = expr(x = X[i]) with parameters c0, c1. */
function unaryKernel(key: string, expr: string): UnaryKernel {
  let k = unaryKernels.get(key);
  if (!k) {
    k = compile<UnaryKernel>(
      'X, out, c0, c1',
      `const L = X.length;
${unrolled((j) => `const x = X[${j}]; out[${j}] = ${expr};`)}`,
    );
    unaryKernels.set(key, k);
  }
  return k;
}

/**
 * out (contiguous) = expr(a, b) over coalesced `shape`, a at oa + idx·sa, b at ob + idx·sb. The inner
 * dim runs as a plain loop, specialised for strides (1, 1), (1, 0) and (0, 1); an odometer walks
 * the outer dims.
 */
function binaryKernel(key: string, expr: string): BinaryKernel {
  let k = binaryKernels.get(key);
  if (!k) {
    k = compile<BinaryKernel>(
      'out, A, B, shape, oa, sa, ob, sb',
      `const r = shape.length;
if (r === 0) { const a = A[oa], b = B[ob]; out[0] = ${expr}; return; }
const L = shape[r - 1], ta = sa[r - 1], tb = sb[r - 1], n = out.length;
const idx = new Int32Array(r);
let pa = oa, pb = ob;
for (let o = 0; o < n; o += L) {
  if (ta === 1 && tb === 1) {
    ${unrolled((j) => `const a = A[pa + ${j}], b = B[pb + ${j}]; out[o + ${j}] = ${expr};`)}
  } else if (ta === 1 && tb === 0) {
    const b = B[pb];
    ${unrolled((j) => `const a = A[pa + ${j}]; out[o + ${j}] = ${expr};`)}
  } else if (ta === 0 && tb === 1) {
    const a = A[pa];
    ${unrolled((j) => `const b = B[pb + ${j}]; out[o + ${j}] = ${expr};`)}
  } else {
    for (let j = 0, x = pa, y = pb; j < L; j++, x += ta, y += tb) { const a = A[x], b = B[y]; out[o + j] = ${expr}; }
  }
  for (let d = r - 2; d >= 0; d--) {
    pa += sa[d];
    pb += sb[d];
    if (++idx[d] < shape[d]) break;
    pa -= sa[d] * shape[d];
    pb -= sb[d] * shape[d];
    idx[d] = 0;
  }
}`,
    );
    binaryKernels.set(key, k);
  }
  return k;
}

// ---- unary ----

function needParam(op: UnaryOp, p: number | undefined, name: string): number {
  if (p === undefined || typeof p !== 'number') throw new Error(`cpu unary '${op}': missing parameter ${name}`);
  return p;
}

/** The float expression of `x` for op (c0, c1 are its parameters), plus those parameters. */
function floatUnary(op: UnaryOp, p0: number | undefined, p1: number | undefined): [string, number, number] {
  switch (op) {
    case 'neg':
      return ['-x', 0, 0];
    case 'exp':
      return ['Math.exp(x)', 0, 0];
    case 'log':
      return ['Math.log(x)', 0, 0];
    case 'sqrt':
      return ['Math.sqrt(x)', 0, 0];
    case 'rsqrt':
      return ['1 / Math.sqrt(x)', 0, 0];
    case 'abs':
      return ['Math.abs(x)', 0, 0];
    case 'sign':
      return ['(x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN)', 0, 0];
    case 'tanh':
      return ['Math.tanh(x)', 0, 0];
    case 'sigmoid':
      return ['sigmoid(x)', 0, 0];
    case 'relu':
      return ['(x > 0 ? x : x === x ? 0 : x)', 0, 0];
    case 'step':
      return ['(x > 0 ? 1 : 0)', 0, 0];
    case 'erf':
      return ['erf(x)', 0, 0];
    case 'gelu_tanh':
      return ['geluTanh(x)', 0, 0];
    case 'gelu_erf':
      return ['geluErf(x)', 0, 0];
    case 'softplus':
      return ['softplus(x, c0, c1)', p0 ?? 1, p1 ?? 20];
    case 'pow_scalar':
      return ['powC(x, c0)', needParam(op, p0, 'p0 (exponent)'), 0];
    case 'add_scalar':
      return ['x + c0', needParam(op, p0, 'p0 (addend)'), 0];
    case 'mul_scalar':
      return ['x * c0', needParam(op, p0, 'p0 (factor)'), 0];
    default:
      throw new Error(`cpu unary: unknown op '${String(op)}'`);
  }
}

function intUnary(op: UnaryOp, p0: number | undefined): [string, number, number] {
  switch (op) {
    case 'neg':
      return ['-x | 0', 0, 0];
    case 'abs':
      return ['Math.abs(x) | 0', 0, 0];
    case 'sign':
      return ['(x > 0 ? 1 : x < 0 ? -1 : 0)', 0, 0];
    case 'add_scalar':
      // wraps like int32; a fractional addend truncates toward zero
      return ['(x + c0) | 0', needParam(op, p0, 'p0 (addend)'), 0];
    case 'mul_scalar': {
      const c = needParam(op, p0, 'p0 (factor)');
      if (Number.isInteger(c) && c >= -2147483648 && c <= 2147483647) return ['Math.imul(x, c0)', c, 0];
      return ['toInt32(x * c0)', c, 0];
    }
    default:
      throw new Error(`cpu unary '${op}' does not support int32`);
  }
}

export function unary(op: UnaryOp, x: Storage, p0?: number, p1?: number): TypedArray {
  const src = dataOf(x, `unary '${op}'`);
  const [expr, c0, c1] = x.dtype === 'int32' ? intUnary(op, p0) : floatUnary(op, p0, p1);
  const out = allocArray(x.dtype, src.length);
  unaryKernel(`${x.dtype}|${expr}`, expr)(src, out, c0, c1);
  return out;
}

// ---- binary ----

function floatBinary(op: BinaryOp): string {
  switch (op) {
    case 'add':
      return 'a + b';
    case 'sub':
      return 'a - b';
    case 'mul':
      return 'a * b';
    case 'div':
      return 'a / b';
    case 'maximum':
      return 'Math.max(a, b)'; // propagates NaN, like torch.maximum
    case 'minimum':
      return 'Math.min(a, b)';
    case 'pow':
      return 'powC(a, b)';
    case 'eq':
      return '(a === b ? 1 : 0)';
    case 'ne':
      return '(a !== b ? 1 : 0)';
    case 'lt':
      return '(a < b ? 1 : 0)';
    case 'le':
      return '(a <= b ? 1 : 0)';
    case 'gt':
      return '(a > b ? 1 : 0)';
    case 'ge':
      return '(a >= b ? 1 : 0)';
    default:
      throw new Error(`cpu binary: unknown op '${String(op)}'`);
  }
}

function intBinary(op: BinaryOp): string {
  switch (op) {
    case 'add':
      return '(a + b) | 0';
    case 'sub':
      return '(a - b) | 0';
    case 'mul':
      return 'Math.imul(a, b)';
    // Truncating division. Division by zero yields a (WGSL's rule for i32), INT_MIN / -1 wraps to INT_MIN.
    case 'div':
      return '(b === 0 ? a : (a / b) | 0)';
    case 'pow':
      throw new Error(`cpu binary 'pow' does not support int32`);
    default:
      return floatBinary(op); // maximum, minimum and comparisons are exact on int32 values
  }
}

export function binary(op: BinaryOp, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): TypedArray {
  const name = `binary '${op}'`;
  const A = dataOf(a, name);
  const B = dataOf(b, name);
  requireSameDtype(name, ['a', a], ['b', b]);
  checkView(av, outShape, a.size, name, 'a');
  checkView(bv, outShape, b.size, name, 'b');
  const expr = a.dtype === 'int32' ? intBinary(op) : floatBinary(op);
  const out = allocArray(a.dtype, numel(outShape));
  if (out.length === 0) return out;
  const c = coalesceViews(outShape, [av.strides, bv.strides]);
  binaryKernel(`${a.dtype}|${expr}`, expr)(out, A, B, c.shape, av.offset, c.strides[0], bv.offset, c.strides[1]);
  return out;
}

// ---- where ----

export function where(
  c: Storage,
  cv: View,
  a: Storage,
  av: View,
  b: Storage,
  bv: View,
  outShape: number[],
): TypedArray {
  const C = dataOf(c, 'where');
  const A = dataOf(a, 'where');
  const B = dataOf(b, 'where');
  requireSameDtype('where', ['a', a], ['b', b]);
  checkView(cv, outShape, c.size, 'where', 'cond');
  checkView(av, outShape, a.size, 'where', 'a');
  checkView(bv, outShape, b.size, 'where', 'b');
  const out = allocArray(a.dtype, numel(outShape));
  const n = out.length;
  if (n === 0) return out;
  const { shape, strides } = coalesceViews(outShape, [cv.strides, av.strides, bv.strides]);
  const [sc, sa, sb] = strides;
  const r = shape.length;
  if (r === 0) {
    out[0] = C[cv.offset] !== 0 ? A[av.offset] : B[bv.offset];
    return out;
  }
  const L = shape[r - 1];
  const tc = sc[r - 1];
  const ta = sa[r - 1];
  const tb = sb[r - 1];
  const idx = new Int32Array(r);
  let pc = cv.offset;
  let pa = av.offset;
  let pb = bv.offset;
  for (let o = 0; o < n; o += L) {
    if (tc === 1 && ta === 1 && tb === 1) {
      for (let j = 0; j < L; j++) out[o + j] = C[pc + j] !== 0 ? A[pa + j] : B[pb + j];
    } else {
      for (let j = 0, z = pc, x = pa, y = pb; j < L; j++, z += tc, x += ta, y += tb) out[o + j] = C[z] !== 0 ? A[x] : B[y];
    }
    for (let d = r - 2; d >= 0; d--) {
      pc += sc[d];
      pa += sa[d];
      pb += sb[d];
      if (++idx[d] < shape[d]) break;
      pc -= sc[d] * shape[d];
      pa -= sa[d] * shape[d];
      pb -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

// ---- binary ops in WebAssembly (float32, common layouts) ----

/**
 * out = a op b through binary-wasm.ts when the coalesced layout is full/full, or full with a row or
 * column broadcast on either side; null when it is not (the caller runs the generated loop).
 */
export function wasmBinary(h: WasmHeap, op: BinaryWasmOp, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): Float32Array | null {
  const name = `binary '${op}'`;
  const A = dataOf(a, name) as Float32Array;
  const B = dataOf(b, name) as Float32Array;
  requireSameDtype(name, ['a', a], ['b', b]);
  checkView(av, outShape, a.size, name, 'a');
  checkView(bv, outShape, b.size, name, 'b');
  const { shape, strides } = coalesceViews(outShape, [av.strides, bv.strides]);
  const rank = shape.length;
  if (rank === 0) return null;
  // the inner two dims [R, L] run in WebAssembly; outer dims (if any) loop here, one call per block
  const [R, L] = rank === 1 ? [1, shape[0]!] : [shape[rank - 2]!, shape[rank - 1]!];
  const kind = (s: number[]): OperandKind | null => {
    const [outer, inner] = rank === 1 ? [0, s[0]!] : [s[rank - 2]!, s[rank - 1]!];
    if (inner === 1 && (R === 1 || outer === L)) return 'f';
    if (inner === 1 && outer === 0) return 'r';
    if (inner === 0 && (R === 1 || outer === 1)) return 'c';
    return null;
  };
  const ka = kind(strides[0]!);
  const kb = kind(strides[1]!);
  if (ka === null || kb === null || !(ka === 'f' || kb === 'f')) return null;
  const count = (k: OperandKind): number => (k === 'f' ? R * L : k === 'r' ? L : R);
  const fn = h.binary[`${op}_${ka}${kb}`]!;
  resetScratch();
  if (rank <= 2) {
    const aAddr = stageIn(h, A, av.offset, count(ka));
    const bAddr = stageIn(h, B, bv.offset, count(kb));
    const o = kernelOut(h, R * L);
    fn(aAddr, bAddr, o.addr, R, L);
    return finishOut(h, o);
  }
  const aBase = stageIn(h, A);
  const bBase = stageIn(h, B);
  const n = numel(shape);
  const o = kernelOut(h, n);
  const outer = rank - 2;
  const idx = new Array<number>(outer).fill(0);
  const [sa, sb] = [strides[0]!, strides[1]!];
  let pa = av.offset, pb = bv.offset;
  for (let at = 0; at < n; at += R * L) {
    fn(aBase + 4 * pa, bBase + 4 * pb, o.addr + 4 * at, R, L);
    for (let d = outer - 1; d >= 0; d--) {
      pa += sa[d]!;
      pb += sb[d]!;
      if (++idx[d]! < shape[d]!) break;
      pa -= sa[d]! * shape[d]!;
      pb -= sb[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return finishOut(h, o);
}

/** neg / mul_scalar / add_scalar of a float32 storage through unary-wasm.ts (bit-identical). */
export function wasmScalarUnary(h: WasmHeap, op: 'neg' | 'mul_scalar' | 'add_scalar', x: Storage, c: number): Float32Array {
  const X = dataOf(x, `unary '${op}'`) as Float32Array;
  const n = X.length;
  resetScratch();
  const xAddr = stageIn(h, X);
  const o = kernelOut(h, n);
  if (op === 'neg') h.unary.neg(xAddr, o.addr, n);
  else if (op === 'mul_scalar') h.unary.mulScalar(xAddr, o.addr, n, c);
  else h.unary.addScalar(xAddr, o.addr, n, c);
  return finishOut(h, o);
}
