// GELU derivatives (reference loops, float64 math): the first-order backward dx = g · gelu'(x)
// and its vjp at cotangent u, [x̄ = u · g · gelu''(x), ḡ = u · gelu'(x)].

import type { GeluKind, Storage, TypedArray } from '../backend.js';
import { erfc } from './scalar.js';
import { allocArray, dataOf } from './storage.js';

/** gelu_tanh's constants: gelu(x) = x/2 · (1 + tanh(C·(x + A·x³))). */
export const GELU_TANH_C = Math.sqrt(2 / Math.PI);
export const GELU_TANH_A = 0.044715;
const C = GELU_TANH_C;
const A = GELU_TANH_A;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** gelu'(x) */
export function geluGrad(kind: GeluKind, x: number): number {
  if (kind === 'gelu_tanh') {
    const t = Math.tanh(C * (x + A * x * x * x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + 3 * A * x * x);
  }
  return 0.5 * erfc(-x * Math.SQRT1_2) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI;
}

/** gelu''(x) */
export function geluGrad2(kind: GeluKind, x: number): number {
  if (kind === 'gelu_tanh') {
    const t = Math.tanh(C * (x + A * x * x * x));
    const sp = C * (1 + 3 * A * x * x);
    return (1 - t * t) * (sp + 3 * A * C * x * x - x * t * sp * sp);
  }
  return Math.exp(-0.5 * x * x) * INV_SQRT_2PI * (2 - x * x);
}

function inputs(op: string, ...ss: Storage[]): TypedArray[] {
  return ss.map((s) => dataOf(s, op));
}

export function geluBackward(kind: GeluKind, x: Storage, g: Storage): TypedArray {
  const [X, G] = inputs('geluBackward', x, g);
  const dx = allocArray(x.dtype, x.size);
  for (let i = 0; i < x.size; i++) dx[i] = G![i]! * geluGrad(kind, X![i]!);
  return dx;
}

export function geluGradBackward(kind: GeluKind, x: Storage, g: Storage, u: Storage): [TypedArray, TypedArray] {
  const [X, G, U] = inputs('geluGradBackward', x, g, u);
  const xBar = allocArray(x.dtype, x.size);
  const gBar = allocArray(x.dtype, x.size);
  for (let i = 0; i < x.size; i++) {
    xBar[i] = U![i]! * G![i]! * geluGrad2(kind, X![i]!);
    gBar[i] = U![i]! * geluGrad(kind, X![i]!);
  }
  return [xBar, gBar];
}
