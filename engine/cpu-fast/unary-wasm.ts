// Float32 scalar-parameter unary ops as WebAssembly SIMD: neg, mul_scalar and add_scalar, computed
// as the reference does — x widened to float64, one float64 multiply or add with the (float64)
// parameter, one rounding to float32 — so results are bit-identical to engine/cpu/elementwise.ts.
// Four lanes are widened as two f64x2 halves and narrowed back with a shuffle.
// Exports (byte addresses, n elements): neg(x, out, n), mulScalar(x, out, n, c), addScalar(x, out, n, c);
// and the dropout keep-mask (emitDropoutMask).

import { FuncBuilder, ModuleBuilder } from '../wasm/emitter.js';

const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const JOIN_LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/** Loop i over [0, n) four lanes at a time, then one at a time. */
function emitLoop(f: FuncBuilder, x: number, out: number, n: number, vector: () => void, scalar: () => void): void {
  const i = f.local('i32');
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).i32(4).i32Add().get(n).i32GtS().brIf(1);
  f.get(out);
  vector();
  f.v128Store();
  f.get(x).i32(16).i32Add().set(x);
  f.get(out).i32(16).i32Add().set(out);
  f.get(i).i32(4).i32Add().set(i);
  f.br(0);
  f.end().end();
  f.block().loop();
  f.get(i).get(n).i32GeS().brIf(1);
  f.get(out);
  scalar();
  f.f32Store();
  f.get(x).i32(4).i32Add().set(x);
  f.get(out).i32(4).i32Add().set(out);
  f.get(i).i32(1).i32Add().set(i);
  f.br(0);
  f.end().end();
}

function emitNeg(m: ModuleBuilder): void {
  const f = m.func('neg', ['i32', 'i32', 'i32']);
  emitLoop(f, 0, 1, 2, () => f.get(0).v128Load().f32x4Neg(), () => f.get(0).f32Load().f32Neg());
}

function emitWide(m: ModuleBuilder, name: string, mul: boolean): void {
  const f = m.func(name, ['i32', 'i32', 'i32', 'f64']);
  const [x, out, n, c] = [0, 1, 2, 3];
  const v = f.local('v128'), cv = f.local('v128');
  f.get(c).f64x2Splat().set(cv);
  const op = (): void => void (mul ? f.f64x2Mul() : f.f64x2Add());
  emitLoop(
    f,
    x,
    out,
    n,
    () => {
      f.get(x).v128Load().set(v);
      f.get(v).f64x2PromoteLowF32x4().get(cv);
      op();
      f.f32x4DemoteF64x2Zero();
      f.get(v).get(v).i8x16Shuffle(HIGH_HALF).f64x2PromoteLowF32x4().get(cv);
      op();
      f.f32x4DemoteF64x2Zero();
      f.i8x16Shuffle(JOIN_LOW_HALVES);
    },
    () => {
      f.get(x).f32Load().f64PromoteF32().get(c);
      if (mul) f.f64Mul();
      else f.f64Add();
      f.f32DemoteF64();
    },
  );
}

/**
 * dropoutMask(out, n, seedMix, threshold, scale): out[i] = scale where hashU24(seed, i) ≥ threshold,
 * else 0 — engine/random.ts's lowbias32 hash in i32x4 lanes (seedMix = mix32(seed)), so the mask is
 * bit-identical to the reference and the webgpu kernel.
 */
function emitDropoutMask(m: ModuleBuilder): void {
  const f = m.func('dropoutMask', ['i32', 'i32', 'i32', 'i32', 'f32']);
  const [out, n, seedMix, threshold, scale] = [0, 1, 2, 3, 4];
  const i = f.local('i32');
  const x = f.local('v128'), idx = f.local('v128'), th = f.local('v128'), sc = f.local('v128'), c1 = f.local('v128'), c2 = f.local('v128');
  f.get(seedMix).i32x4Splat().v128ConstI32([0, 1, 2, 3]).i32x4Add().set(idx);
  f.get(threshold).i32x4Splat().set(th);
  f.get(scale).f32x4Splat().set(sc);
  f.i32(0x7feb352d).i32x4Splat().set(c1);
  f.i32(0x846ca68b | 0).i32x4Splat().set(c2);
  const shiftXor = (k: number): void => {
    f.get(x).get(x).i32(k).i32x4ShrU().v128Xor().set(x);
  };
  const hashToMask = (): void => {
    f.get(idx).set(x);
    shiftXor(16);
    f.get(x).get(c1).i32x4Mul().set(x);
    shiftXor(15);
    f.get(x).get(c2).i32x4Mul().set(x);
    shiftXor(16);
    f.get(sc).get(x).i32(8).i32x4ShrU().get(th).i32x4GeS().v128And();
  };
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).i32(4).i32Add().get(n).i32GtS().brIf(1);
  f.get(out);
  hashToMask();
  f.v128Store();
  f.get(idx).v128ConstI32([4, 4, 4, 4]).i32x4Add().set(idx);
  f.get(out).i32(16).i32Add().set(out);
  f.get(i).i32(4).i32Add().set(i);
  f.br(0);
  f.end().end();
  f.block().loop();
  f.get(i).get(n).i32GeS().brIf(1);
  f.get(out);
  hashToMask();
  f.f32x4ExtractLane(0).f32Store();
  f.get(idx).v128ConstI32([1, 1, 1, 1]).i32x4Add().set(idx);
  f.get(out).i32(4).i32Add().set(out);
  f.get(i).i32(1).i32Add().set(i);
  f.br(0);
  f.end().end();
}

export interface UnaryExports {
  dropoutMask(out: number, n: number, seedMix: number, threshold: number, scale: number): void;
  neg(x: number, out: number, n: number): void;
  mulScalar(x: number, out: number, n: number, c: number): void;
  addScalar(x: number, out: number, n: number, c: number): void;
}

export function unaryModuleBytes(opts: { shared: boolean; maximumPages: number }): Uint8Array {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: opts.maximumPages, shared: opts.shared });
  emitNeg(m);
  emitWide(m, 'mulScalar', true);
  emitWide(m, 'addScalar', false);
  emitDropoutMask(m);
  return m.bytes();
}
