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

import { FuncBuilder, ModuleBuilder } from '../wasm/emitter.js';

/** Emit: v128 local `t` (lanes ≤ 0 or −inf) → e^t left on the stack. Uses scratch locals n, p. */
function emitExp(f: FuncBuilder, t: number, n: number, p: number, tc: number): void {
  // tc = max(t, -88); n = nearest(tc · log2e)
  f.get(t).f32(-88).f32x4Splat().f32x4Max().set(tc);
  f.get(tc).f32(1.44269504088896341).f32x4Splat().f32x4Mul().f32x4Nearest().set(n);
  // r = tc − n·C1 − n·C2 (kept in tc)
  f.get(tc).get(n).f32(0.693359375).f32x4Splat().f32x4Mul().f32x4Sub().get(n).f32(-2.12194440e-4).f32x4Splat().f32x4Mul().f32x4Sub().set(tc);
  // p = ((((((c0 r + c1) r + c2) r + c3) r + c4) r + c5) r² + r + 1
  const coeffs = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
  f.f32(coeffs[0]!).f32x4Splat().set(p);
  for (const c of coeffs.slice(1)) f.get(p).get(tc).f32x4Mul().f32(c).f32x4Splat().f32x4Add().set(p);
  f.get(p).get(tc).f32x4Mul().get(tc).f32x4Mul().get(tc).f32x4Add().f32(1).f32x4Splat().f32x4Add().set(p);
  // 2^n from the exponent bits: (int(n) + 127) << 23
  f.get(p);
  f.get(n).i32x4TruncSatF32x4S().i32(127).i32x4Splat().i32x4Add().i32(23).i32x4Shl();
  f.f32x4Mul();
  // zero where t < −87.34 (the scaled result would be subnormal or garbage)
  f.get(t).f32(-87.33654).f32x4Splat().f32x4Lt().v128AndNot();
}

function emitExpRows(m: ModuleBuilder): void {
  const f = m.func('expRows', ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, out, R, Cp, stats] = [0, 1, 2, 3, 4];
  const r = f.local('i32'), c = f.local('i32'), px = f.local('i32'), po = f.local('i32'), rowBytes = f.local('i32');
  const mx = f.local('v128'), t = f.local('v128'), n = f.local('v128'), p = f.local('v128'), tc = f.local('v128'), sum = f.local('v128');
  const ms = f.local('f32');
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
    emitExp(f, t, n, p, tc);
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
  f.i32(0).set(i);
  f.block().loop();
  {
    f.get(i).get(n).i32GeS().brIf(1);
    f.get(x).v128Load().set(xv);
    // t = min(c·(x + 0.044715·x³), 80): e^t stays finite, and e/(e+1) is 1 in float32 beyond
    f.get(xv).get(xv).get(xv).f32x4Mul().get(xv).f32x4Mul().f32(0.044715).f32x4Splat().f32x4Mul().f32x4Add();
    f.f32(c).f32x4Splat().f32x4Mul().f32(80).f32x4Splat().f32x4Min().set(t);
    emitExp(f, t, nn, p, tc);
    f.set(t); // e
    f.get(out).get(xv).get(t).get(t).f32(1).f32x4Splat().f32x4Add().f32x4Div().f32x4Mul().v128Store();
    f.get(x).i32(16).i32Add().set(x);
    f.get(out).i32(16).i32Add().set(out);
    f.get(i).i32(4).i32Add().set(i);
    f.br(0);
  }
  f.end().end();
}

export interface RowExports {
  geluTanh(x: number, out: number, n: number): void;
  expRows(x: number, out: number, R: number, Cp: number, stats: number): void;
  scaleRows(buf: number, R: number, Cp: number, factors: number): void;
}

export function rowsModuleBytes(opts: { shared: boolean; maximumPages: number }): Uint8Array {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: opts.maximumPages, shared: opts.shared });
  emitExpRows(m);
  emitScaleRows(m);
  emitGeluTanh(m);
  return m.bytes();
}
