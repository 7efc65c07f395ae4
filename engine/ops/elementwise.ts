// Elementwise ops: unary math, binary arithmetic with broadcasting, comparisons, where, cast.
// Each op: shape/dtype rule, the backend kernel, and a vjp written in these same ops.

import type { BinaryOp, DType, GeluKind, UnaryOp } from '../backend.js';
import { hasKernel } from '../op-table/fallback.js';
import { isGradEnabled } from '../scope.js';
import { broadcastShapes, broadcastStrides } from '../shape.js';
import { Tensor } from '../tensor.js';
import { assertFloat, assertSameDtype, record, storages, type Vjp } from './record.js';

function unary(op: UnaryOp, x: Tensor, vjp: Vjp | null, p0?: number, p1?: number): Tensor {
  const [xs] = storages(op, x);
  if (x.dtype === 'int32' && !['neg', 'abs', 'sign', 'add_scalar', 'mul_scalar'].includes(op)) assertFloat(op, x);
  return record(op, x.backend.unary(op, xs!, p0, p1), x.shape, [x], x.dtype === 'int32' ? null : vjp);
}

export const neg = (x: Tensor): Tensor => unary('neg', x, (g) => [neg(g)]);
export const exp = (x: Tensor): Tensor => unary('exp', x, (g, y) => [mul(g, y)]);
export const log = (x: Tensor): Tensor => unary('log', x, (g) => [div(g, x)]);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x, (g, y) => [div(g, mulScalar(y, 2))]);
/** x^-1/2; d/dx = -1/2 x^-3/2 = -1/2 y^3. */
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x, (g, y) => [mul(g, mulScalar(mul(y, mul(y, y)), -0.5))]);
export const abs = (x: Tensor): Tensor => unary('abs', x, (g) => [mul(g, sign(x))]);
export const sign = (x: Tensor): Tensor => unary('sign', x, null);
/** 1 where x > 0, else 0 (no gradient). */
export const step = (x: Tensor): Tensor => unary('step', x, null);
export const tanh = (x: Tensor): Tensor => unary('tanh', x, (g, y) => [mul(g, rsubScalar(1, mul(y, y)))]);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x, (g, y) => [mul(g, mul(y, rsubScalar(1, y)))]);
export const relu = (x: Tensor): Tensor => unary('relu', x, (g) => [mul(g, step(x))]);
export const erf = (x: Tensor): Tensor =>
  unary('erf', x, (g) => [mul(g, mulScalar(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI)))]);

/**
 * g · gelu'(x) as one fused kernel when the backward is not being recorded and the backend has one
 * (never differentiated again); null otherwise, and the vjp is built from ops.
 */
function fusedGeluBackward(kind: GeluKind, x: Tensor, g: Tensor): Tensor | null {
  const b = x.backend;
  if (!hasKernel(b, 'geluBackward') || g.dtype !== x.dtype) return null;
  if (x.dtype !== 'float32' && !(x.dtype === 'float64' && x.backend.supportsDType('float64'))) return null;
  const [xs, gs] = storages('geluBackward', x, g);
  const out = b.geluBackward(kind, xs!, gs!);
  if (!isGradEnabled()) return record('geluBackward', out, x.shape, [x, g], null);
  // Recorded (createGraph): a differentiable op. vjp at u: x̄ = u · g · gelu''(x), ḡ = u · gelu'(x) —
  // one fused kernel when not recorded, else ops (gelu'' composed, ḡ this op again).
  return record('geluBackward', out, x.shape, [x, g], (u) => {
    if (!isGradEnabled() && hasKernel(b, 'geluGradBackward') && u.dtype === x.dtype) {
      const [xs2, gs2, us] = storages('geluGradBackward', x, g, u);
      const [xb, gb] = b.geluGradBackward(kind, xs2!, gs2!, us!);
      return [record('geluGradBackward', xb, x.shape, [x, g, u], null), record('geluGradBackward', gb, x.shape, [x, g, u], null)];
    }
    return [mul(mul(u, g), geluSecondDerivative(kind, x)), fusedGeluBackward(kind, x, u)!];
  });
}

/** gelu''(x) from ops: tanh form (1 − t²)(s' + 3ac x² − x t s'²), s' = c (1 + 3a x²); erf form φ(x)(2 − x²). */
function geluSecondDerivative(kind: GeluKind, x: Tensor): Tensor {
  const x2 = mul(x, x);
  if (kind === 'gelu_erf') return mul(mulScalar(exp(mulScalar(x2, -0.5)), 1 / Math.sqrt(2 * Math.PI)), rsubScalar(2, x2));
  const a = 0.044715;
  const t = tanh(mulScalar(add(x, mulScalar(mul(x2, x), a)), GELU_C));
  const sp = mulScalar(addScalar(mulScalar(x2, 3 * a), 1), GELU_C);
  const inner = sub(add(sp, mulScalar(x2, 3 * a * GELU_C)), mul(mul(x, t), mul(sp, sp)));
  return mul(rsubScalar(1, mul(t, t)), inner);
}

const GELU_C = Math.sqrt(2 / Math.PI);
/** GPT-2's gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export const geluTanh = (x: Tensor): Tensor =>
  unary('gelu_tanh', x, (g) => {
    const fused = fusedGeluBackward('gelu_tanh', x, g);
    if (fused) return [fused];
    // d = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 * 0.044715 x^2), t = tanh(c (x + 0.044715 x^3))
    const x2 = mul(x, x);
    const t = tanh(mulScalar(add(x, mulScalar(mul(x2, x), 0.044715)), GELU_C));
    const left = mulScalar(addScalar(t, 1), 0.5);
    const inner = mulScalar(addScalar(mulScalar(x2, 3 * 0.044715), 1), GELU_C);
    const right = mul(mulScalar(mul(x, rsubScalar(1, mul(t, t))), 0.5), inner);
    return [mul(g, add(left, right))];
  });
/** Exact GELU: x Φ(x) = 0.5 x (1 + erf(x / √2)). */
export const geluErf = (x: Tensor): Tensor =>
  unary('gelu_erf', x, (g) => {
    const fused = fusedGeluBackward('gelu_erf', x, g);
    if (fused) return [fused];
    // d = Φ(x) + x φ(x)
    const cdf = mulScalar(addScalar(erf(mulScalar(x, Math.SQRT1_2)), 1), 0.5);
    const pdf = mulScalar(exp(mulScalar(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [mul(g, add(cdf, mul(x, pdf)))];
  });

/** PyTorch's Softplus(beta, threshold): x where beta x > threshold, else log1p(exp(beta x)) / beta. */
export const softplus = (x: Tensor, beta = 1, threshold = 20): Tensor =>
  unary(
    'softplus',
    x,
    (g) => {
      const bx = mulScalar(x, beta);
      const linear = step(addScalar(bx, -threshold)); // 1 where beta x > threshold
      const d = add(mul(linear, rsubScalar(1, sigmoid(bx))), sigmoid(bx)); // linear ? 1 : sigmoid
      return [mul(g, d)];
    },
    beta,
    threshold,
  );

/** x^p for a scalar exponent p. */
export const powScalar = (x: Tensor, p: number): Tensor =>
  unary('pow_scalar', x, (g) => [p === 0 ? null : mul(g, mulScalar(powScalar(x, p - 1), p))], p);
export const addScalar = (x: Tensor, c: number): Tensor => unary('add_scalar', x, (g) => [g], c);
export const mulScalar = (x: Tensor, c: number): Tensor => unary('mul_scalar', x, (g) => [mulScalar(g, c)], c);
/** c - x. */
export const rsubScalar = (c: number, x: Tensor): Tensor => addScalar(neg(x), c);

function binary(op: BinaryOp, a: Tensor, b: Tensor, vjp: Vjp | null): Tensor {
  const [as, bs] = storages(op, a, b);
  assertSameDtype(op, a, b);
  if (op === 'pow') assertFloat(op, a);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = a.backend.binary(
    op,
    as!,
    { offset: 0, strides: broadcastStrides(a.shape, shape) },
    bs!,
    { offset: 0, strides: broadcastStrides(b.shape, shape) },
    shape,
  );
  return record(op, out, shape, [a, b], a.dtype === 'int32' ? null : vjp);
}

// Binary vjps return cotangents of the broadcast output shape; the tape sums them back (unbroadcast).
export const add = (a: Tensor, b: Tensor): Tensor => binary('add', a, b, (g) => [g, g]);
export const sub = (a: Tensor, b: Tensor): Tensor => binary('sub', a, b, (g) => [g, neg(g)]);
export const mul = (a: Tensor, b: Tensor): Tensor => binary('mul', a, b, (g) => [mul(g, b), mul(g, a)]);
export const div = (a: Tensor, b: Tensor): Tensor =>
  binary('div', a, b, (g) => {
    const gb = div(g, b);
    return [gb, neg(mul(gb, div(a, b)))];
  });
/** PyTorch's rule: where a == b the gradient is split in half. */
export const maximum = (a: Tensor, b: Tensor): Tensor =>
  binary('maximum', a, b, (g) => {
    const wa = add(gt(a, b), mulScalar(eq(a, b), 0.5));
    return [mul(g, wa), mul(g, rsubScalar(1, wa))];
  });
export const minimum = (a: Tensor, b: Tensor): Tensor =>
  binary('minimum', a, b, (g) => {
    const wa = add(lt(a, b), mulScalar(eq(a, b), 0.5));
    return [mul(g, wa), mul(g, rsubScalar(1, wa))];
  });

// Comparisons: 1 or 0 in the inputs' dtype, no gradient.
export const eq = (a: Tensor, b: Tensor): Tensor => binary('eq', a, b, null);
export const ne = (a: Tensor, b: Tensor): Tensor => binary('ne', a, b, null);
export const lt = (a: Tensor, b: Tensor): Tensor => binary('lt', a, b, null);
export const le = (a: Tensor, b: Tensor): Tensor => binary('le', a, b, null);
export const gt = (a: Tensor, b: Tensor): Tensor => binary('gt', a, b, null);
export const ge = (a: Tensor, b: Tensor): Tensor => binary('ge', a, b, null);

/** cond != 0 ? a : b, broadcast over all three. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const [cs, as, bs] = storages('where', cond, a, b);
  assertSameDtype('where', a, b);
  const shape = broadcastShapes('where', cond.shape, a.shape, b.shape);
  const v = (t: Tensor) => ({ offset: 0, strides: broadcastStrides(t.shape, shape) });
  const out = a.backend.where(cs!, v(cond), as!, v(a), bs!, v(b), shape);
  return record('where', out, shape, [cond, a, b], (g) => {
    const z = zerosScalar(g);
    return [null, where(cond, g, z), where(cond, z, g)];
  });
}

function zerosScalar(like: Tensor): Tensor {
  return record('full', like.backend.full(1, like.dtype, 0), [], [like], null);
}

/** Convert dtype. Float-to-float casts pass gradients through. */
export function cast(x: Tensor, dtype: DType): Tensor {
  const [xs] = storages('cast', x);
  if (x.dtype === dtype) return record('cast', x.backend.unary('mul_scalar', xs!, 1), x.shape, [x], (g) => [g]);
  if (!x.backend.supportsDType(dtype)) throw new Error(`cast: ${dtype} is not supported on ${x.device}`);
  const out = x.backend.cast(xs!, dtype);
  const differentiable = x.dtype !== 'int32' && dtype !== 'int32';
  return record('cast', out, x.shape, [x], differentiable ? (g) => [cast(g, x.dtype)] : null);
}

/**
 * a + alpha · b for tensors of one shape: one kernel where the backend has it, else the composite.
 * Differentiable to any order (vjp: g and alpha · g).
 */
export function addScaled(a: Tensor, b: Tensor, alpha: number): Tensor {
  assertFloat('addScaled', a);
  assertSameDtype('addScaled', a, b);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`addScaled: a [${a.shape.join(', ')}] and b [${b.shape.join(', ')}] must have one shape`);
  }
  const be = a.backend;
  if (!hasKernel(be, 'addScaled') || a.dtype !== 'float32') return addScaledComposite(a, b, alpha);
  const [as, bs] = storages('addScaled', a, b);
  return record('addScaled', be.addScaled(as!, bs!, alpha), a.shape, [a, b], (g) => [g, mulScalar(g, alpha)]);
}

/** a + alpha · b from primitives (what addScaled's kernel computes). */
export function addScaledComposite(a: Tensor, b: Tensor, alpha: number): Tensor {
  return add(a, mulScalar(b, alpha));
}
