// Elementwise kernels, reference loops: unary ops, strided binary ops and where (broadcast via zero
// strides), casts. Float values are computed in float64 and rounded once when written to a float32
// array. Each op is a one-line function applied element by element; the fast path's generated loops
// (engine/cpu-fast/elementwise.ts) compute the same expressions.

import type { BinaryOp, DType, Storage, TypedArray, UnaryOp, View } from '../backend.js';
import { erf, geluErf, geluTanh, sigmoid, softplus, toInt32 } from './scalar.js';
import { allocArray, convertArray, dataOf, requireSameDtype } from './storage.js';
import { checkView, numel, viewOffsets } from './strided.js';

/** C / PyTorch pow: x^0 = 1 and 1^y = 1 even for NaN, (-1)^±inf = 1 (Math.pow gives NaN there). */
export function powC(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

function needParam(op: UnaryOp, p: number | undefined, name: string): number {
  if (p === undefined || typeof p !== 'number') throw new Error(`cpu unary '${op}': missing parameter ${name}`);
  return p;
}

function floatUnary(op: UnaryOp, p0: number | undefined, p1: number | undefined): (x: number) => number {
  switch (op) {
    case 'neg': return (x) => -x;
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'sqrt': return Math.sqrt;
    case 'rsqrt': return (x) => 1 / Math.sqrt(x);
    case 'abs': return Math.abs;
    case 'sign': return (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN);
    case 'tanh': return Math.tanh;
    case 'sigmoid': return sigmoid;
    case 'relu': return (x) => (x > 0 ? x : x === x ? 0 : x);
    case 'step': return (x) => (x > 0 ? 1 : 0);
    case 'erf': return erf;
    case 'gelu_tanh': return geluTanh;
    case 'gelu_erf': return geluErf;
    case 'softplus': {
      const beta = p0 ?? 1;
      const threshold = p1 ?? 20;
      return (x) => softplus(x, beta, threshold);
    }
    case 'pow_scalar': {
      const e = needParam(op, p0, 'p0 (exponent)');
      return (x) => powC(x, e);
    }
    case 'add_scalar': {
      const c = needParam(op, p0, 'p0 (addend)');
      return (x) => x + c;
    }
    case 'mul_scalar': {
      const c = needParam(op, p0, 'p0 (factor)');
      return (x) => x * c;
    }
    default:
      throw new Error(`cpu unary: unknown op '${String(op)}'`);
  }
}

function intUnary(op: UnaryOp, p0: number | undefined): (x: number) => number {
  switch (op) {
    case 'neg': return (x) => -x | 0;
    case 'abs': return (x) => Math.abs(x) | 0;
    case 'sign': return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case 'add_scalar': {
      // wraps like int32; a fractional addend truncates toward zero
      const c = needParam(op, p0, 'p0 (addend)');
      return (x) => (x + c) | 0;
    }
    case 'mul_scalar': {
      const c = needParam(op, p0, 'p0 (factor)');
      if (Number.isInteger(c) && c >= -2147483648 && c <= 2147483647) return (x) => Math.imul(x, c);
      return (x) => toInt32(x * c);
    }
    default:
      throw new Error(`cpu unary '${op}' does not support int32`);
  }
}

export function unary(op: UnaryOp, x: Storage, p0?: number, p1?: number): TypedArray {
  const src = dataOf(x, `unary '${op}'`);
  const f = x.dtype === 'int32' ? intUnary(op, p0) : floatUnary(op, p0, p1);
  const out = allocArray(x.dtype, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
  return out;
}

function floatBinary(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add': return (a, b) => a + b;
    case 'sub': return (a, b) => a - b;
    case 'mul': return (a, b) => a * b;
    case 'div': return (a, b) => a / b;
    case 'maximum': return Math.max; // propagates NaN, like torch.maximum
    case 'minimum': return Math.min;
    case 'pow': return powC;
    case 'eq': return (a, b) => (a === b ? 1 : 0);
    case 'ne': return (a, b) => (a !== b ? 1 : 0);
    case 'lt': return (a, b) => (a < b ? 1 : 0);
    case 'le': return (a, b) => (a <= b ? 1 : 0);
    case 'gt': return (a, b) => (a > b ? 1 : 0);
    case 'ge': return (a, b) => (a >= b ? 1 : 0);
    default:
      throw new Error(`cpu binary: unknown op '${String(op)}'`);
  }
}

function intBinary(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add': return (a, b) => (a + b) | 0;
    case 'sub': return (a, b) => (a - b) | 0;
    case 'mul': return Math.imul;
    // Truncating division. Division by zero yields a (WGSL's rule for i32), INT_MIN / -1 wraps to INT_MIN.
    case 'div': return (a, b) => (b === 0 ? a : (a / b) | 0);
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
  const f = a.dtype === 'int32' ? intBinary(op) : floatBinary(op);
  const out = allocArray(a.dtype, numel(outShape));
  const ia = viewOffsets(av, outShape);
  const ib = viewOffsets(bv, outShape);
  for (let i = 0; i < out.length; i++) out[i] = f(A[ia[i]], B[ib[i]]);
  return out;
}

/** out = cond != 0 ? a : b, all three strided over outShape. */
export function where(c: Storage, cv: View, a: Storage, av: View, b: Storage, bv: View, outShape: number[]): TypedArray {
  const C = dataOf(c, 'where');
  const A = dataOf(a, 'where');
  const B = dataOf(b, 'where');
  requireSameDtype('where', ['a', a], ['b', b]);
  checkView(cv, outShape, c.size, 'where', 'cond');
  checkView(av, outShape, a.size, 'where', 'a');
  checkView(bv, outShape, b.size, 'where', 'b');
  const out = allocArray(a.dtype, numel(outShape));
  const ic = viewOffsets(cv, outShape);
  const ia = viewOffsets(av, outShape);
  const ib = viewOffsets(bv, outShape);
  for (let i = 0; i < out.length; i++) out[i] = C[ic[i]] !== 0 ? A[ia[i]] : B[ib[i]];
  return out;
}

/** Convert to `to`; float → int32 truncates toward zero (NaN → 0, saturating at the int32 range). */
export function cast(x: Storage, to: DType): TypedArray {
  return convertArray(dataOf(x, 'cast'), to);
}
