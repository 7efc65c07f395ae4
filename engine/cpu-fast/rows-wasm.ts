// Row kernels of the fast float32 path as a WebAssembly SIMD module (engine/wasm/emitter.ts):
// the exp-heavy part of softmax and cross-entropy (forward and backward), and gelu_tanh.
//
// Rows are laid out padded to Cp (a multiple of 4) floats, the padding lanes holding -Infinity, so
// every loop runs whole f32x4 vectors (exp(-inf - m) = 0 adds nothing, and max ignores it).
// Exports (byte addresses):
//   expRows(x, out, R, Cp, stats)  per row r: m = max x[r], out[r] = exp(x[r] − m), s = Σ out[r];
//                                  stats[2r] = m, stats[2r + 1] = s
//   scaleRows(buf, R, Cp, f)       buf[r] *= f[r]
// exp is the Cephes expf scheme: n = round(t·log2 e), r = t − n·ln2 (two-part constant), a degree-7
// polynomial for e^r, times 2^n built in the exponent bits; t < −87.34 (e^t below the float32
// normal range) gives 0. Relative error about 1 ulp of float32 for −88 ≤ t ≤ 88 (softmax rows have
// t ≤ 0; gelu clamps its argument at 80).

import { GELU_TANH_A, GELU_TANH_C } from '../cpu/gelu-backward.js';
import { FuncBuilder, ModuleBuilder } from '../wasm/emitter.js';

/** v128 locals holding the constants of emitExp (set once at the start of a function: V8 does not hoist them). */
interface ExpConsts {
  lo: number;
  log2e: number;
  magic: number;
  c1: number;
  c2: number;
  coeffs: number[];
  one: number;
  two: number;
  bias: number;
  under: number;
}

const EXP_COEFFS = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/** Declare and set the constants of emitExp; call before any loop of the function. */
function expConstants(f: FuncBuilder): ExpConsts {
  const splat = (v: number): number => {
    const l = f.local('v128');
    f.f32(v).f32x4Splat().set(l);
    return l;
  };
  const K = {
    lo: splat(-88),
    log2e: splat(1.44269504088896341),
    magic: splat(12582912), // 1.5·2^23: adding it rounds to an integer held in the low mantissa bits
    c1: splat(0.693359375),
    c2: splat(-2.12194440e-4),
    coeffs: EXP_COEFFS.map(splat),
    one: splat(1),
    two: splat(2),
    bias: f.local('v128'),
    under: splat(-87.33654),
  };
  f.i32(126).i32x4Splat().set(K.bias);
  return K;
}

/**
 * Emit: v128 local `t` → e^t left on the stack (scratch locals n, p, tc). Cephes expf: n = round(t·log2 e)
 * (by adding 1.5·2^23, which also leaves n in the low mantissa bits), r = t − n·ln2 (two-part
 * constant), a degree-7 polynomial for e^r, times 2^(n−1) built in the exponent bits ((bits + 126)
 * << 23: the magic number's own bits shift out) and times 2 (so that n = 128, t just below the
 * float32 overflow at 88.72, stays finite); t < −87.34 gives 0. Relative error about 1 ulp of
 * float32 for −87.3 ≤ t ≤ 88.72; NaN gives NaN.
 */
function emitExp(f: FuncBuilder, t: number, n: number, p: number, tc: number, K: ExpConsts): void {
  // tc = max(t, -88) (NaN stays NaN); n = tc·log2e + magic
  f.get(t).get(K.lo).f32x4Pmax().set(tc);
  f.get(tc).get(K.log2e).f32x4Mul().get(K.magic).f32x4Add().set(n);
  // r = tc − nf·C1 − nf·C2 with nf = n − magic (kept in tc; p holds nf)
  f.get(n).get(K.magic).f32x4Sub().set(p);
  f.get(tc).get(p).get(K.c1).f32x4Mul().f32x4Sub().get(p).get(K.c2).f32x4Mul().f32x4Sub().set(tc);
  // p = ((((((c0 r + c1) r + c2) r + c3) r + c4) r + c5) r² + r + 1
  f.get(K.coeffs[0]!).set(p);
  for (const c of K.coeffs.slice(1)) f.get(p).get(tc).f32x4Mul().get(c).f32x4Add().set(p);
  f.get(p).get(tc).f32x4Mul().get(tc).f32x4Mul().get(tc).f32x4Add().get(K.one).f32x4Add();
  // × 2^(n−1) × 2
  f.get(n).get(K.bias).i32x4Add().i32(23).i32x4Shl();
  f.f32x4Mul().get(K.two).f32x4Mul();
  // zero where t < −87.34 (the scaled result would be subnormal or garbage)
  f.get(t).get(K.under).f32x4Lt().v128AndNot();
}

function emitExpRows(m: ModuleBuilder): void {
  const f = m.func('expRows', ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, out, R, Cp, stats] = [0, 1, 2, 3, 4];
  const r = f.local('i32'), c = f.local('i32'), px = f.local('i32'), po = f.local('i32'), rowBytes = f.local('i32');
  const mx = f.local('v128'), t = f.local('v128'), n = f.local('v128'), p = f.local('v128'), tc = f.local('v128'), sum = f.local('v128');
  const ms = f.local('f32');
  const K = expConstants(f);
  f.get(Cp).i32(2).i32Shl().set(rowBytes);
  f.i32(0).set(r);
  f.block().loop();
  {
    f.get(r).get(R).i32GeS().brIf(1);
    // max over the row
    f.get(x).set(px);
    f.f32(-Infinity).f32x4Splat().set(mx);
    f.i32(0).set(c);
    f.block().loop();
    f.get(c).get(Cp).i32GeS().brIf(1);
    f.get(mx).get(px).v128Load().f32x4Max().set(mx);
    f.get(px).i32(16).i32Add().set(px);
    f.get(c).i32(4).i32Add().set(c);
    f.br(0);
    f.end().end();
    f.get(mx).f32x4ExtractLane(0).get(mx).f32x4ExtractLane(1).f32Max().get(mx).f32x4ExtractLane(2).f32Max().get(mx).f32x4ExtractLane(3).f32Max().set(ms);
    f.get(ms).f32x4Splat().set(mx);
    // exp and sum
    f.get(x).set(px);
    f.get(out).set(po);
    f.v128Zero().set(sum);
    f.i32(0).set(c);
    f.block().loop();
    f.get(c).get(Cp).i32GeS().brIf(1);
    f.get(px).v128Load().get(mx).f32x4Sub().set(t);
    emitExp(f, t, n, p, tc, K);
    f.set(t);
    f.get(po).get(t).v128Store();
    f.get(sum).get(t).f32x4Add().set(sum);
    f.get(px).i32(16).i32Add().set(px);
    f.get(po).i32(16).i32Add().set(po);
    f.get(c).i32(4).i32Add().set(c);
    f.br(0);
    f.end().end();
    // stats
    f.get(stats).get(ms).f32Store(0);
    f.get(stats).get(sum).f32x4ExtractLane(0).get(sum).f32x4ExtractLane(1).f32Add().get(sum).f32x4ExtractLane(2).f32Add().get(sum).f32x4ExtractLane(3).f32Add().f32Store(4);
    f.get(stats).i32(8).i32Add().set(stats);
    f.get(x).get(rowBytes).i32Add().set(x);
    f.get(out).get(rowBytes).i32Add().set(out);
    f.get(r).i32(1).i32Add().set(r);
    f.br(0);
  }
  f.end().end();
}

function emitScaleRows(m: ModuleBuilder): void {
  const f = m.func('scaleRows', ['i32', 'i32', 'i32', 'i32']);
  const [buf, R, Cp, fac] = [0, 1, 2, 3];
  const r = f.local('i32'), c = f.local('i32'), s = f.local('v128');
  f.i32(0).set(r);
  f.block().loop();
  {
    f.get(r).get(R).i32GeS().brIf(1);
    f.get(fac).f32Load().f32x4Splat().set(s);
    f.i32(0).set(c);
    f.block().loop();
    f.get(c).get(Cp).i32GeS().brIf(1);
    f.get(buf).get(buf).v128Load().get(s).f32x4Mul().v128Store();
    f.get(buf).i32(16).i32Add().set(buf);
    f.get(c).i32(4).i32Add().set(c);
    f.br(0);
    f.end().end();
    f.get(fac).i32(4).i32Add().set(fac);
    f.get(r).i32(1).i32Add().set(r);
    f.br(0);
  }
  f.end().end();
}

/** geluTanh(x, out, n): out[i] = x·(e/(e + 1)), e = exp(2·√(2/π)(x + 0.044715x³)) — the same value as
 *  0.5x(1 + tanh(u)), without the cancellation of 1 + tanh for x ≪ 0; n a multiple of 4. */
function emitGeluTanh(m: ModuleBuilder): void {
  const f = m.func('geluTanh', ['i32', 'i32', 'i32']);
  const [x, out, n] = [0, 1, 2];
  const i = f.local('i32');
  const xv = f.local('v128'), t = f.local('v128'), nn = f.local('v128'), p = f.local('v128'), tc = f.local('v128');
  const c = 2 * Math.sqrt(2 / Math.PI);
  const K = expConstants(f);
  f.i32(0).set(i);
  f.block().loop();
  {
    f.get(i).get(n).i32GeS().brIf(1);
    f.get(x).v128Load().set(xv);
    // t = min(c·(x + 0.044715·x³), 80): e^t stays finite, and e/(e+1) is 1 in float32 beyond
    f.get(xv).get(xv).get(xv).f32x4Mul().get(xv).f32x4Mul().f32(0.044715).f32x4Splat().f32x4Mul().f32x4Add();
    f.f32(c).f32x4Splat().f32x4Mul().f32(80).f32x4Splat().f32x4Pmin().set(t);
    emitExp(f, t, nn, p, tc, K);
    f.set(t); // e
    f.get(out).get(xv).get(t).get(t).f32(1).f32x4Splat().f32x4Add().f32x4Div().f32x4Mul().v128Store();
    f.get(x).i32(16).i32Add().set(x);
    f.get(out).i32(16).i32Add().set(out);
    f.get(i).i32(4).i32Add().set(i);
    f.br(0);
  }
  f.end().end();
}

/**
 * geluTanhBackward(x, g, out, n): out[i] = g·gelu'(x) for the tanh GELU, in float32 lanes — the
 * formulas of engine/cpu-fast/gelu-backward.ts: v = C·(x + A·x³), E = exp(−2|v|) (emitExp), then
 * tanh v, 1 + tanh v and 1 − tanh² v formed from E without cancellation:
 *   1 + tanh v = 1 + (1 − E)/(1 + E)   (x ≥ 0)   or   2E/(1 + E)   (x < 0)
 *   1 − tanh² v = 4E/(1 + E)²
 *   gelu'(x) = ½(1 + tanh v) + ½·x·(1 − tanh² v)·C·(1 + 3A·x²)
 * n a multiple of 4 (the lanes past the end stay inside the 64-byte blocks of x, g and out).
 */
function emitGeluTanhBackward(m: ModuleBuilder, A: number, C: number): void {
  const f = m.func('geluTanhBackward', ['i32', 'i32', 'i32', 'i32']);
  const [x, g, out, n] = [0, 1, 2, 3];
  const i = f.local('i32');
  const xv = f.local('v128'), x2 = f.local('v128'), t = f.local('v128'), nn = f.local('v128'), p = f.local('v128'), tc = f.local('v128');
  const e = f.local('v128'), inv = f.local('v128'), opt = f.local('v128');
  const K = expConstants(f);
  const half = f.local('v128'), cA = f.local('v128'), cC = f.local('v128'), c3A = f.local('v128'), four = f.local('v128'), mtwo = f.local('v128');
  f.f32(0.5).f32x4Splat().set(half);
  f.f32(A).f32x4Splat().set(cA);
  f.f32(C).f32x4Splat().set(cC);
  f.f32(3 * A).f32x4Splat().set(c3A);
  f.f32(4).f32x4Splat().set(four);
  f.f32(-2).f32x4Splat().set(mtwo);
  f.i32(0).set(i);
  f.block().loop();
  {
    f.get(i).get(n).i32GeS().brIf(1);
    f.get(x).v128Load().set(xv);
    f.get(xv).get(xv).f32x4Mul().set(x2);
    // t = −2·|C·(x + A·x³)|
    f.get(xv).get(x2).get(xv).f32x4Mul().get(cA).f32x4Mul().f32x4Add().get(cC).f32x4Mul().f32x4Abs().get(mtwo).f32x4Mul().set(t);
    emitExp(f, t, nn, p, tc, K);
    f.set(e);
    // inv = 1/(1 + E)
    f.get(K.one).get(K.one).get(e).f32x4Add().f32x4Div().set(inv);
    // 1 + tanh v: x < 0 → 2E·inv, else 1 + (1 − E)·inv
    f.get(K.two).get(e).f32x4Mul().get(inv).f32x4Mul();
    f.get(K.one).get(K.one).get(e).f32x4Sub().get(inv).f32x4Mul().f32x4Add();
    f.get(xv).v128Zero().f32x4Lt();
    f.v128Bitselect().set(opt);
    // out = g · (½·opt + ½·x·(4E·inv²)·C·(1 + 3A·x²))
    f.get(out);
    f.get(g).v128Load();
    f.get(half).get(opt).f32x4Mul();
    f.get(half).get(xv).f32x4Mul().get(four).get(e).f32x4Mul().get(inv).f32x4Mul().get(inv).f32x4Mul().f32x4Mul();
    f.get(cC).get(K.one).get(c3A).get(x2).f32x4Mul().f32x4Add().f32x4Mul().f32x4Mul();
    f.f32x4Add().f32x4Mul().v128Store();
    f.get(x).i32(16).i32Add().set(x);
    f.get(g).i32(16).i32Add().set(g);
    f.get(out).i32(16).i32Add().set(out);
    f.get(i).i32(4).i32Add().set(i);
    f.br(0);
  }
  f.end().end();
}

// ---- float64 helpers: four float32 lanes as two f64x2 halves ----

const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const JOIN_LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** Push the low (half 0) or high (half 1) two lanes of v128 local `v` widened to f64x2. */
function half(f: FuncBuilder, v: number, h: 0 | 1): void {
  f.get(v);
  if (h === 1) f.get(v).i8x16Shuffle(HIGH_HALF);
  f.f64x2PromoteLowF32x4();
}

/** Stack: f64x2 lo, f64x2 hi → f32x4 (each rounded once). */
function join(f: FuncBuilder, lo: number, hi: number): void {
  f.get(lo).f32x4DemoteF64x2Zero().get(hi).f32x4DemoteF64x2Zero().i8x16Shuffle(JOIN_LOW_HALVES);
}

/** Loop `c` from its current value while c + 4 ≤ n, running body; then while c < n, running tail. */
function vecThenScalar(f: FuncBuilder, c: number, n: number, body: () => void, tail: () => void): void {
  f.block().loop();
  f.get(c).i32(4).i32Add().get(n).i32GtS().brIf(1);
  body();
  f.get(c).i32(4).i32Add().set(c);
  f.br(0);
  f.end().end();
  f.block().loop();
  f.get(c).get(n).i32GeS().brIf(1);
  tail();
  f.get(c).i32(1).i32Add().set(c);
  f.br(0);
  f.end().end();
}

/** Sum of the two lanes of f64x2 local v (lane 0 + lane 1), pushed. */
function hsum(f: FuncBuilder, v: number): void {
  f.get(v).f64x2ExtractLane(0).get(v).f64x2ExtractLane(1).f64Add();
}

/**
 * tanh(x, out, n): Cephes tanhf — |x| < 0.625: x + x·s·P(s), s = x² (a degree-4 polynomial);
 * else 1 − 2/(e^{2|x|} + 1) with e^t from emitExp (t clamped at 80, where tanh is 1 in float32),
 * the sign of x put back on. NaN gives NaN, ±inf ±1, −0 −0. About 2 ulp of float32.
 */
function emitTanh(m: ModuleBuilder): void {
  const f = m.func('tanh', ['i32', 'i32', 'i32']);
  const [x, out, n] = [0, 1, 2];
  const c = f.local('i32');
  const xv = f.local('v128'), s = f.local('v128'), small = f.local('v128'), t = f.local('v128');
  const nn = f.local('v128'), p = f.local('v128'), tc = f.local('v128'), sign = f.local('v128');
  const P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1];
  f.v128ConstI32([-0x80000000, -0x80000000, -0x80000000, -0x80000000]).set(sign);
  const K = expConstants(f);
  const vector = (): void => {
    f.get(xv).get(xv).f32x4Mul().set(s);
    f.f32(P[0]!).f32x4Splat().set(small);
    for (const k of P.slice(1)) f.get(small).get(s).f32x4Mul().f32(k).f32x4Splat().f32x4Add().set(small);
    f.get(small).get(s).f32x4Mul().get(xv).f32x4Mul().get(xv).f32x4Add().set(small);
    f.get(xv).f32x4Abs().get(xv).f32x4Abs().f32x4Add().f32(80).f32x4Splat().f32x4Pmin().set(t);
    emitExp(f, t, nn, p, tc, K);
    f.set(t); // e
    f.f32(1).f32x4Splat().f32(2).f32x4Splat().get(t).f32(1).f32x4Splat().f32x4Add().f32x4Div().f32x4Sub().set(t); // 1 − 2/(e+1)
    // pick by |x| < 0.625, then the sign of x on the magnitude
    f.get(small).get(t).get(xv).f32x4Abs().f32(0.625).f32x4Splat().f32x4Lt().v128Bitselect().f32x4Abs();
    f.set(t);
    f.get(xv).get(t).get(sign).v128Bitselect();
  };
  f.i32(0).set(c);
  vecThenScalar(
    f,
    c,
    n,
    () => {
      f.get(x).v128Load().set(xv);
      f.get(out);
      vector();
      f.v128Store();
      f.get(x).i32(16).i32Add().set(x);
      f.get(out).i32(16).i32Add().set(out);
    },
    () => {
      f.get(x).f32Load().f32x4Splat().set(xv);
      f.get(out);
      vector();
      f.f32x4ExtractLane(0).f32Store();
      f.get(x).i32(4).i32Add().set(x);
      f.get(out).i32(4).i32Add().set(out);
    },
  );
}

/** softmaxBackward(y, g, out, R, C): per row dot = Σ g·y, out = y·(g − dot), in float64 as the reference. */
function emitSoftmaxBackward(m: ModuleBuilder): void {
  const f = m.func('softmaxBackward', ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [y, g, out, R, C] = [0, 1, 2, 3, 4];
  const r = f.local('i32'), c = f.local('i32'), py = f.local('i32'), pg = f.local('i32'), po = f.local('i32');
  const yv = f.local('v128'), gv = f.local('v128'), d0 = f.local('v128'), d1 = f.local('v128'), dv = f.local('v128'), lo = f.local('v128'), hi = f.local('v128');
  const dot = f.local('f64');
  f.i32(0).set(r);
  f.block().loop();
  {
    f.get(r).get(R).i32GeS().brIf(1);
    f.get(y).set(py);
    f.get(g).set(pg);
    f.v128Zero().set(d0);
    f.v128Zero().set(d1);
    f.f64(0).set(dot);
    f.i32(0).set(c);
    vecThenScalar(
      f,
      c,
      C,
      () => {
        f.get(py).v128Load().set(yv);
        f.get(pg).v128Load().set(gv);
        f.get(d0);
        half(f, gv, 0);
        half(f, yv, 0);
        f.f64x2Mul().f64x2Add().set(d0);
        f.get(d1);
        half(f, gv, 1);
        half(f, yv, 1);
        f.f64x2Mul().f64x2Add().set(d1);
        f.get(py).i32(16).i32Add().set(py);
        f.get(pg).i32(16).i32Add().set(pg);
      },
      () => {
        f.get(dot).get(pg).f32Load().f64PromoteF32().get(py).f32Load().f64PromoteF32().f64Mul().f64Add().set(dot);
        f.get(py).i32(4).i32Add().set(py);
        f.get(pg).i32(4).i32Add().set(pg);
      },
    );
    f.get(d0).get(d1).f64x2Add().set(d0);
    hsum(f, d0);
    f.get(dot).f64Add().tee(dot).f64x2Splat().set(dv);
    // out = y·(g − dot)
    f.get(y).set(py);
    f.get(g).set(pg);
    f.i32(0).set(c);
    vecThenScalar(
      f,
      c,
      C,
      () => {
        f.get(py).v128Load().set(yv);
        f.get(pg).v128Load().set(gv);
        half(f, yv, 0);
        half(f, gv, 0);
        f.get(dv).f64x2Sub().f64x2Mul().set(lo);
        half(f, yv, 1);
        half(f, gv, 1);
        f.get(dv).f64x2Sub().f64x2Mul().set(hi);
        f.get(out);
        join(f, lo, hi);
        f.v128Store();
        f.get(py).i32(16).i32Add().set(py);
        f.get(pg).i32(16).i32Add().set(pg);
        f.get(out).i32(16).i32Add().set(out);
      },
      () => {
        f.get(out).get(py).f32Load().f64PromoteF32().get(pg).f32Load().f64PromoteF32().get(dot).f64Sub().f64Mul().f32DemoteF64().f32Store();
        f.get(py).i32(4).i32Add().set(py);
        f.get(pg).i32(4).i32Add().set(pg);
        f.get(out).i32(4).i32Add().set(out);
      },
    );
    f.get(y).get(C).i32(2).i32Shl().i32Add().set(y);
    f.get(g).get(C).i32(2).i32Shl().i32Add().set(g);
    f.get(r).i32(1).i32Add().set(r);
    f.br(0);
  }
  f.end().end();
}

/**
 * layerNorm(x, w, b, out, R, C, eps): per row mean and biased variance in float64, inv = 1/√(var + eps),
 * out = (x − mean)·inv·w + b in float64, rounded once — the reference's arithmetic (its sums in
 * another order).
 */
function emitLayerNorm(m: ModuleBuilder): void {
  const f = m.func('layerNorm', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f64']);
  const [x, w, b, out, R, C, eps] = [0, 1, 2, 3, 4, 5, 6];
  const r = f.local('i32'), c = f.local('i32'), px = f.local('i32'), pw = f.local('i32'), pb = f.local('i32');
  const xv = f.local('v128'), wv = f.local('v128'), bv = f.local('v128'), s0 = f.local('v128'), s1 = f.local('v128'), mv = f.local('v128'), iv = f.local('v128');
  const lo = f.local('v128'), hi = f.local('v128');
  const sum = f.local('f64'), mean = f.local('f64'), inv = f.local('f64'), d = f.local('f64');
  const pass = (body: () => void, tail: () => void): void => {
    f.get(x).set(px);
    f.i32(0).set(c);
    vecThenScalar(f, c, C, body, tail);
  };
  f.i32(0).set(r);
  f.block().loop();
  {
    f.get(r).get(R).i32GeS().brIf(1);
    // mean
    f.v128Zero().set(s0);
    f.v128Zero().set(s1);
    f.f64(0).set(sum);
    pass(
      () => {
        f.get(px).v128Load().set(xv);
        f.get(s0);
        half(f, xv, 0);
        f.f64x2Add().set(s0);
        f.get(s1);
        half(f, xv, 1);
        f.f64x2Add().set(s1);
        f.get(px).i32(16).i32Add().set(px);
      },
      () => {
        f.get(sum).get(px).f32Load().f64PromoteF32().f64Add().set(sum);
        f.get(px).i32(4).i32Add().set(px);
      },
    );
    f.get(s0).get(s1).f64x2Add().set(s0);
    hsum(f, s0);
    f.get(sum).f64Add().get(C).f64ConvertI32S().f64Div().tee(mean).f64x2Splat().set(mv);
    // variance
    f.v128Zero().set(s0);
    f.v128Zero().set(s1);
    f.f64(0).set(sum);
    pass(
      () => {
        f.get(px).v128Load().set(xv);
        half(f, xv, 0);
        f.get(mv).f64x2Sub().set(lo);
        f.get(s0).get(lo).get(lo).f64x2Mul().f64x2Add().set(s0);
        half(f, xv, 1);
        f.get(mv).f64x2Sub().set(hi);
        f.get(s1).get(hi).get(hi).f64x2Mul().f64x2Add().set(s1);
        f.get(px).i32(16).i32Add().set(px);
      },
      () => {
        f.get(px).f32Load().f64PromoteF32().get(mean).f64Sub().set(d);
        f.get(sum).get(d).get(d).f64Mul().f64Add().set(sum);
        f.get(px).i32(4).i32Add().set(px);
      },
    );
    f.get(s0).get(s1).f64x2Add().set(s0);
    f.f64(1);
    hsum(f, s0);
    f.get(sum).f64Add().get(C).f64ConvertI32S().f64Div().get(eps).f64Add().f64Sqrt().f64Div().tee(inv).f64x2Splat().set(iv);
    // out
    f.get(w).set(pw);
    f.get(b).set(pb);
    pass(
      () => {
        f.get(px).v128Load().set(xv);
        f.get(pw).v128Load().set(wv);
        f.get(pb).v128Load().set(bv);
        half(f, xv, 0);
        f.get(mv).f64x2Sub().get(iv).f64x2Mul();
        half(f, wv, 0);
        f.f64x2Mul();
        half(f, bv, 0);
        f.f64x2Add().set(lo);
        half(f, xv, 1);
        f.get(mv).f64x2Sub().get(iv).f64x2Mul();
        half(f, wv, 1);
        f.f64x2Mul();
        half(f, bv, 1);
        f.f64x2Add().set(hi);
        f.get(out);
        join(f, lo, hi);
        f.v128Store();
        f.get(px).i32(16).i32Add().set(px);
        f.get(pw).i32(16).i32Add().set(pw);
        f.get(pb).i32(16).i32Add().set(pb);
        f.get(out).i32(16).i32Add().set(out);
      },
      () => {
        f.get(out).get(px).f32Load().f64PromoteF32().get(mean).f64Sub().get(inv).f64Mul().get(pw).f32Load().f64PromoteF32().f64Mul().get(pb).f32Load().f64PromoteF32().f64Add().f32DemoteF64().f32Store();
        f.get(px).i32(4).i32Add().set(px);
        f.get(pw).i32(4).i32Add().set(pw);
        f.get(pb).i32(4).i32Add().set(pb);
        f.get(out).i32(4).i32Add().set(out);
      },
    );
    f.get(x).get(C).i32(2).i32Shl().i32Add().set(x);
    f.get(r).i32(1).i32Add().set(r);
    f.br(0);
  }
  f.end().end();
}

/**
 * attnSoftmax(s, out, R, T, scale, causal, window, km, kmStride, H): the attention probabilities of
 * scores s [R, T] (R = B·H·T query rows; row i of each head = r mod T), T a multiple of 4. Keys j
 * outside [j0, j1) — j0 = max(0, i − window + 1) when window > 0, j1 = i + 1 when causal — and
 * keys whose key-mask value is 0 (float32 km [B, T], kmStride bytes per batch element; 0 repeats
 * one row) are masked; visible scores are scaled, then softmax in float32 (max, exp, sum,
 * × 1/sum). Masked keys get 0; a row with no visible key (or only −inf scores) is all 0.
 */
function emitAttnSoftmax(m: ModuleBuilder): void {
  const f = m.func('attnSoftmax', ['i32', 'i32', 'i32', 'i32', 'f32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [sIn, out, R, T, scale, causal, window, km, kmStride, H] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const head = f.local('i32'), pk = f.local('i32');
  const r = f.local('i32'), i = f.local('i32'), j0 = f.local('i32'), j1 = f.local('i32'), cs = f.local('i32'), ce = f.local('i32');
  const c = f.local('i32'), ps = f.local('i32'), po = f.local('i32'), rowOut = f.local('i32');
  const idx = f.local('v128'), j0v = f.local('v128'), j1v = f.local('v128'), sv = f.local('v128'), mx = f.local('v128');
  const t = f.local('v128'), nn = f.local('v128'), p = f.local('v128'), tc = f.local('v128'), sum = f.local('v128');
  const ms = f.local('f32');
  const K = expConstants(f);
  /** zero the row's out[from, to) (locals; null: from column 0) */
  const zero = (from: number | null, to: number): void => {
    if (from === null) f.i32(0).set(c);
    else f.get(from).set(c);
    f.block().loop();
    f.get(c).get(to).i32GeS().brIf(1);
    f.get(rowOut).get(c).i32(2).i32Shl().i32Add().v128Zero().v128Store();
    f.get(c).i32(4).i32Add().set(c);
    f.br(0);
    f.end().end();
  };
  /** for c in [cs, ce) step 4 with ps, po at column c */
  const span = (body: () => void): void => {
    f.get(cs).set(c);
    f.get(sIn).get(cs).i32(2).i32Shl().i32Add().set(ps);
    f.get(rowOut).get(cs).i32(2).i32Shl().i32Add().set(po);
    f.block().loop();
    f.get(c).get(ce).i32GeS().brIf(1);
    body();
    f.get(ps).i32(16).i32Add().set(ps);
    f.get(po).i32(16).i32Add().set(po);
    f.get(c).i32(4).i32Add().set(c);
    f.br(0);
    f.end().end();
  };
  f.get(scale).f32x4Splat().set(sv);
  f.i32(0).set(r);
  f.i32(0).set(i);
  f.get(out).set(rowOut);
  f.block().loop();
  {
    f.get(r).get(R).i32GeS().brIf(1);
    // visible keys [j0, j1) and the vector span [cs, ce) covering them
    f.get(i).get(window).i32Sub().i32(1).i32Add().tee(j0).i32(0).get(j0).i32(0).i32GtS().i32Select().set(j0);
    f.get(window).i32(0).i32GtS().if_();
    f.else_();
    f.i32(0).set(j0);
    f.end();
    f.get(i).i32(1).i32Add().get(T).get(causal).i32Select().set(j1);
    f.get(j0).i32(-4).i32And().set(cs);
    f.get(j1).i32(3).i32Add().i32(-4).i32And().set(ce);
    f.get(j0).i32x4Splat().set(j0v);
    f.get(j1).i32x4Splat().set(j1v);
    zero(null, cs);
    zero(ce, T);
    // masked scaled scores into out, and their max
    f.f32(-Infinity).f32x4Splat().set(mx);
    f.get(cs).i32x4Splat().v128ConstI32([0, 1, 2, 3]).i32x4Add().set(idx);
    f.get(km).get(cs).i32(2).i32Shl().i32Add().set(pk);
    span(() => {
      f.get(ps).v128Load().get(sv).f32x4Mul().f32(-Infinity).f32x4Splat();
      f.get(idx).get(j0v).i32x4GeS().get(idx).get(j1v).i32x4LtS().v128And();
      f.get(pk).v128Load().v128Zero().f32x4Ne().v128And().v128Bitselect().set(t);
      f.get(pk).i32(16).i32Add().set(pk);
      f.get(po).get(t).v128Store();
      f.get(mx).get(t).f32x4Max().set(mx);
      f.get(idx).v128ConstI32([4, 4, 4, 4]).i32x4Add().set(idx);
    });
    f.get(mx).f32x4ExtractLane(0).get(mx).f32x4ExtractLane(1).f32Max().get(mx).f32x4ExtractLane(2).f32Max().get(mx).f32x4ExtractLane(3).f32Max().set(ms);
    f.get(ms).f32(-Infinity).f32Eq().if_();
    zero(cs, ce);
    f.else_();
    {
      f.get(ms).f32x4Splat().set(mx);
      f.v128Zero().set(sum);
      span(() => {
        f.get(po).v128Load().get(mx).f32x4Sub().set(t);
        emitExp(f, t, nn, p, tc, K);
        f.set(t);
        f.get(po).get(t).v128Store();
        f.get(sum).get(t).f32x4Add().set(sum);
      });
      f.f32(1).get(sum).f32x4ExtractLane(0).get(sum).f32x4ExtractLane(1).f32Add().get(sum).f32x4ExtractLane(2).f32Add().get(sum).f32x4ExtractLane(3).f32Add().f32Div().f32x4Splat().set(t);
      span(() => {
        f.get(po).get(po).v128Load().get(t).f32x4Mul().v128Store();
      });
    }
    f.end();
    f.get(sIn).get(T).i32(2).i32Shl().i32Add().set(sIn);
    f.get(rowOut).get(T).i32(2).i32Shl().i32Add().set(rowOut);
    f.get(i).i32(1).i32Add().tee(i).get(T).i32Eq().if_();
    {
      f.i32(0).set(i);
      // next head; past the last head of a batch element, the next key-mask row
      f.get(head).i32(1).i32Add().tee(head).get(H).i32Eq().if_();
      f.i32(0).set(head);
      f.get(km).get(kmStride).i32Add().set(km);
      f.end();
    }
    f.end();
    f.get(r).i32(1).i32Add().set(r);
    f.br(0);
  }
  f.end().end();
}

/** sumRows(x, out, R, C): out[r] = Σ_c x[r, c], accumulated in float64, rounded once. */
function emitSumRows(m: ModuleBuilder): void {
  const f = m.func('sumRows', ['i32', 'i32', 'i32', 'i32']);
  const [x, out, R, C] = [0, 1, 2, 3];
  const r = f.local('i32'), c = f.local('i32');
  const xv = f.local('v128'), s0 = f.local('v128'), s1 = f.local('v128');
  const sum = f.local('f64');
  f.i32(0).set(r);
  f.block().loop();
  {
    f.get(r).get(R).i32GeS().brIf(1);
    f.v128Zero().set(s0);
    f.v128Zero().set(s1);
    f.f64(0).set(sum);
    f.i32(0).set(c);
    vecThenScalar(
      f,
      c,
      C,
      () => {
        f.get(x).v128Load().set(xv);
        f.get(s0);
        half(f, xv, 0);
        f.f64x2Add().set(s0);
        f.get(s1);
        half(f, xv, 1);
        f.f64x2Add().set(s1);
        f.get(x).i32(16).i32Add().set(x);
      },
      () => {
        f.get(sum).get(x).f32Load().f64PromoteF32().f64Add().set(sum);
        f.get(x).i32(4).i32Add().set(x);
      },
    );
    f.get(s0).get(s1).f64x2Add().set(s0);
    f.get(out);
    hsum(f, s0);
    f.get(sum).f64Add().f32DemoteF64().f32Store();
    f.get(out).i32(4).i32Add().set(out);
    f.get(r).i32(1).i32Add().set(r);
    f.br(0);
  }
  f.end().end();
}

/**
 * sumCols(x, out, P, R, C): out[p, c] = Σ_row x[p, row, c] in float64, row by row — the reference's
 * order, so the results are identical. Columns go 16 at a time (eight f64x2 accumulators, one pass
 * over the rows per block), then 4, then one.
 */
function emitSumCols(m: ModuleBuilder): void {
  const f = m.func('sumCols', ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, out, P, R, C] = [0, 1, 2, 3, 4];
  const p = f.local('i32'), c = f.local('i32'), row = f.local('i32'), px = f.local('i32'), rowBytes = f.local('i32'), base = f.local('i32');
  const acc = Array.from({ length: 8 }, () => f.local('v128'));
  const xv = f.local('v128');
  const s = f.local('f64');
  f.get(C).i32(2).i32Shl().set(rowBytes);
  /** one block of `w` columns (16 or 4) at column c of matrix base: accumulate over rows, store */
  const block = (w: 16 | 4): void => {
    const nv = w / 4;
    for (let k = 0; k < 2 * nv; k++) f.v128Zero().set(acc[k]!);
    f.get(base).get(c).i32(2).i32Shl().i32Add().set(px);
    f.get(R).set(row);
    f.block().loop();
    f.get(row).i32Eqz().brIf(1);
    for (let k = 0; k < nv; k++) {
      f.get(px).v128Load(16 * k).set(xv);
      f.get(acc[2 * k]!);
      half(f, xv, 0);
      f.f64x2Add().set(acc[2 * k]!);
      f.get(acc[2 * k + 1]!);
      half(f, xv, 1);
      f.f64x2Add().set(acc[2 * k + 1]!);
    }
    f.get(px).get(rowBytes).i32Add().set(px);
    f.get(row).i32(1).i32Sub().set(row);
    f.br(0);
    f.end().end();
    for (let k = 0; k < nv; k++) {
      f.get(out).get(c).i32(2).i32Shl().i32Add();
      join(f, acc[2 * k]!, acc[2 * k + 1]!);
      f.v128Store(16 * k);
    }
    f.get(c).i32(w).i32Add().set(c);
  };
  f.get(x).set(base);
  f.i32(0).set(p);
  f.block().loop();
  {
    f.get(p).get(P).i32GeS().brIf(1);
    f.i32(0).set(c);
    for (const w of [16, 4] as const) {
      f.block().loop();
      f.get(c).i32(w).i32Add().get(C).i32GtS().brIf(1);
      block(w);
      f.br(0);
      f.end().end();
    }
    // the last columns one at a time
    f.block().loop();
    f.get(c).get(C).i32GeS().brIf(1);
    f.f64(0).set(s);
    f.get(base).get(c).i32(2).i32Shl().i32Add().set(px);
    f.get(R).set(row);
    f.block().loop();
    f.get(row).i32Eqz().brIf(1);
    f.get(s).get(px).f32Load().f64PromoteF32().f64Add().set(s);
    f.get(px).get(rowBytes).i32Add().set(px);
    f.get(row).i32(1).i32Sub().set(row);
    f.br(0);
    f.end().end();
    f.get(out).get(c).i32(2).i32Shl().i32Add().get(s).f32DemoteF64().f32Store();
    f.get(c).i32(1).i32Add().set(c);
    f.br(0);
    f.end().end();
    f.get(base).get(rowBytes).get(R).i32Mul().i32Add().set(base);
    f.get(out).get(rowBytes).i32Add().set(out);
    f.get(p).i32(1).i32Add().set(p);
    f.br(0);
  }
  f.end().end();
}

/**
 * exp(x, out, n): e^x of every element with emitExp; x > 88.7228 (e^x beyond float32) gives +inf,
 * −inf gives 0, NaN NaN. About 1 ulp of float32 (the reference rounds Math.exp).
 */
function emitExpMap(m: ModuleBuilder): void {
  const f = m.func('exp', ['i32', 'i32', 'i32']);
  const [x, out, n] = [0, 1, 2];
  const c = f.local('i32');
  const t = f.local('v128'), nn = f.local('v128'), p = f.local('v128'), tc = f.local('v128');
  const K = expConstants(f);
  const vector = (): void => {
    f.f32(Infinity).f32x4Splat();
    emitExp(f, t, nn, p, tc, K);
    f.get(t).f32(88.7228).f32x4Splat().f32x4Gt().v128Bitselect();
  };
  f.i32(0).set(c);
  vecThenScalar(
    f,
    c,
    n,
    () => {
      f.get(x).v128Load().set(t);
      f.get(out);
      vector();
      f.v128Store();
      f.get(x).i32(16).i32Add().set(x);
      f.get(out).i32(16).i32Add().set(out);
    },
    () => {
      f.get(x).f32Load().f32x4Splat().set(t);
      f.get(out);
      vector();
      f.f32x4ExtractLane(0).f32Store();
      f.get(x).i32(4).i32Add().set(x);
      f.get(out).i32(4).i32Add().set(out);
    },
  );
}

/**
 * adam(p, g, m, v, n, scale, lr, beta1, beta2, eps, bc1, bc2, decay): the reference's Adam / AdamW
 * update (engine/cpu/optim.ts) in place, in float64 with the same operations in the same order —
 * the moments rounded to float32 when stored and read back — so results are identical.
 */
function emitAdam(m: ModuleBuilder): void {
  const f = m.func('adam', ['i32', 'i32', 'i32', 'i32', 'i32', 'f64', 'f64', 'f64', 'f64', 'f64', 'f64', 'f64', 'f64']);
  const [P, G, M, V, n, scale, lr, beta1, beta2, eps, bc1, bc2, decay] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const i = f.local('i32');
  const k = Object.fromEntries(['scale', 'lr', 'b1', 'b2', 'eps', 'bc1', 'bc2', 'decay', 'omb1', 'omb2'].map((name) => [name, f.local('v128')])) as Record<string, number>;
  const g = f.local('v128'), pv = f.local('v128'), mv = f.local('v128'), vv = f.local('v128');
  const gs = f.local('f64'), ps = f.local('f64'), ms = f.local('f32'), vs = f.local('f32');
  void mv;
  const hasDecay = f.local('i32');
  for (const [name, param] of [['scale', scale], ['lr', lr], ['b1', beta1], ['b2', beta2], ['eps', eps], ['bc1', bc1], ['bc2', bc2], ['decay', decay]] as const) f.get(param).f64x2Splat().set(k[name]!);
  f.f64(1).get(beta1).f64Sub().f64x2Splat().set(k.omb1!);
  f.f64(1).get(beta2).f64Sub().f64x2Splat().set(k.omb2!);
  f.get(decay).f64(0).f64Ne().set(hasDecay);
  /** the two float32 at addr widened to f64x2 */
  const load2 = (addr: number): void => {
    f.get(addr).v128Load64Splat().f64x2PromoteLowF32x4();
  };
  f.i32(0).set(i);
  // two elements per pass (f64x2), then one
  f.block().loop();
  {
    f.get(i).i32(2).i32Add().get(n).i32GtS().brIf(1);
    load2(G);
    f.get(k.scale!).f64x2Mul().set(g);
    load2(P);
    f.set(pv);
    f.get(hasDecay).if_();
    f.get(pv).get(k.decay!).get(pv).f64x2Mul().f64x2Sub().set(pv);
    f.end();
    // m = b1·m + (1 − b1)·g, stored as float32 and read back
    f.get(k.b1!);
    load2(M);
    f.f64x2Mul().get(k.omb1!).get(g).f64x2Mul().f64x2Add().f32x4DemoteF64x2Zero().set(mv);
    f.get(M).get(mv).v128Store64Lane(0);
    f.get(mv).f64x2PromoteLowF32x4().set(mv);
    // v = b2·v + (1 − b2)·g·g
    f.get(k.b2!);
    load2(V);
    f.f64x2Mul().get(k.omb2!).get(g).f64x2Mul().get(g).f64x2Mul().f64x2Add().f32x4DemoteF64x2Zero().set(vv);
    f.get(V).get(vv).v128Store64Lane(0);
    f.get(vv).f64x2PromoteLowF32x4().set(vv);
    // p − (lr · m/bc1) / (√(v/bc2) + eps)
    f.get(P);
    f.get(pv).get(k.lr!).get(mv).get(k.bc1!).f64x2Div().f64x2Mul().get(vv).get(k.bc2!).f64x2Div().f64x2Sqrt().get(k.eps!).f64x2Add().f64x2Div().f64x2Sub();
    f.f32x4DemoteF64x2Zero().v128Store64Lane(0);
    for (const a of [P, G, M, V]) f.get(a).i32(8).i32Add().set(a);
    f.get(i).i32(2).i32Add().set(i);
    f.br(0);
  }
  f.end().end();
  // the last element
  f.get(i).get(n).i32LtS().if_();
  {
    f.get(G).f32Load().f64PromoteF32().get(scale).f64Mul().set(gs);
    f.get(P).f32Load().f64PromoteF32().set(ps);
    f.get(hasDecay).if_();
    f.get(ps).get(decay).get(ps).f64Mul().f64Sub().set(ps);
    f.end();
    f.get(beta1).get(M).f32Load().f64PromoteF32().f64Mul().f64(1).get(beta1).f64Sub().get(gs).f64Mul().f64Add().f32DemoteF64().set(ms);
    f.get(M).get(ms).f32Store();
    f.get(beta2).get(V).f32Load().f64PromoteF32().f64Mul().f64(1).get(beta2).f64Sub().get(gs).f64Mul().get(gs).f64Mul().f64Add().f32DemoteF64().set(vs);
    f.get(V).get(vs).f32Store();
    f.get(P);
    f.get(ps).get(lr).get(ms).f64PromoteF32().get(bc1).f64Div().f64Mul().get(vs).f64PromoteF32().get(bc2).f64Div().f64Sqrt().get(eps).f64Add().f64Div().f64Sub();
    f.f32DemoteF64().f32Store();
  }
  f.end();
}

export interface RowExports {
  geluTanh(x: number, out: number, n: number): void;
  geluTanhBackward(x: number, g: number, out: number, n: number): void;
  tanh(x: number, out: number, n: number): void;
  softmaxBackward(y: number, g: number, out: number, R: number, C: number): void;
  layerNorm(x: number, w: number, b: number, out: number, R: number, C: number, eps: number): void;
  attnSoftmax(s: number, out: number, R: number, T: number, scale: number, causal: number, window: number, km: number, kmStride: number, H: number): void;
  sumRows(x: number, out: number, R: number, C: number): void;
  sumCols(x: number, out: number, P: number, R: number, C: number): void;
  exp(x: number, out: number, n: number): void;
  adam(p: number, g: number, m: number, v: number, n: number, scale: number, lr: number, beta1: number, beta2: number, eps: number, bc1: number, bc2: number, decay: number): void;
  expRows(x: number, out: number, R: number, Cp: number, stats: number): void;
  scaleRows(buf: number, R: number, Cp: number, factors: number): void;
}

export function rowsModuleBytes(opts: { shared: boolean; maximumPages: number }): Uint8Array {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: opts.maximumPages, shared: opts.shared });
  emitExpRows(m);
  emitScaleRows(m);
  emitGeluTanh(m);
  emitGeluTanhBackward(m, GELU_TANH_A, GELU_TANH_C);
  emitTanh(m);
  emitSoftmaxBackward(m);
  emitLayerNorm(m);
  emitAttnSoftmax(m);
  emitSumRows(m);
  emitSumCols(m);
  emitExpMap(m);
  emitAdam(m);
  return m.bytes();
}
