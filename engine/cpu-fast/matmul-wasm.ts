// The float32 matmul kernels as a WebAssembly module, written with engine/wasm/emitter.ts.
//
// Packed layouts (float32, byte addresses in the shared memory):
//   A panel: MR rows × kc, stored k-major: ap[k·MR + r]   (rows past the matrix edge are 0)
//   B panel: kc × NR columns, k-major:     bp[k·NR + j]   (columns past the edge are 0)
// Exports:
//   packA(src, sI, sK, dst, rows, kc)  dst ← A panel of the rows at src (element (r, k) at
//                                      src + 4·(r·sI + k·sK)); rows ≤ MR, the rest zero (a full
//                                      panel with sI = 1 moves one v128 per k; one with sK = 1
//                                      transposes 4 × 4 blocks in registers)
//   packB(src, sK, sJ, dst, cols, kc)  dst ← B panel (element (k, j) at src + 4·(k·sK + j·sJ));
//                                      a full panel with sJ = 1 moves two v128 per k
//   panel(ap, bp, cp, ldc, kc, n, acc) for each of n B panels (consecutive, kc·NR floats apart):
//                                      the MR × NR tile at cp + 4·NR·jp (row stride ldc bytes)
//                                      ← (acc ? tile : 0) + A panel · B panel
// The micro-kernel keeps the MR × NR tile in 2·MR v128 registers; each k step loads two B vectors,
// splats MR A values (v128.load32_splat) and does 2·MR multiply-adds — f32x4.relaxed_madd when the
// runtime has relaxed SIMD, else f32x4.mul + f32x4.add. Sums run over k in order per element.

import { FuncBuilder, ModuleBuilder } from '../wasm/emitter.js';

/** Rows of a packed A panel (micro-kernel height). */
export const MR = 4;
/** Columns of a packed B panel (micro-kernel width: two f32x4). */
export const NR = 8;

export interface MatmulModuleOptions {
  relaxed: boolean;
  shared: boolean;
  maximumPages: number;
}

/** packA: per row r < rows copy kc strided elements; rows ≥ rows get zeros. */
function emitPackA(m: ModuleBuilder): void {
  const f = m.func('packA', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [src, sI, sK, dst, rows, kc] = [0, 1, 2, 3, 4, 5];
  const r = f.local('i32'), k = f.local('i32'), p = f.local('i32'), q = f.local('i32');
  const sKb = f.local('i32');
  f.get(sK).i32(2).i32Shl().set(sKb);
  // a full panel whose rows are adjacent (a transposed: sI = 1): one v128 per k
  f.get(sI).i32(1).i32Eq().get(rows).i32(MR).i32Eq().i32And().if_();
  {
    f.get(src).set(p);
    f.get(dst).set(q);
    f.get(kc).set(k);
    f.loop();
    f.get(q).get(p).v128Load().v128Store();
    f.get(p).get(sKb).i32Add().set(p);
    f.get(q).i32(4 * MR).i32Add().set(q);
    f.get(k).i32(1).i32Sub().tee(k).brIf(0);
    f.end();
    f.return_();
  }
  f.end();
  // a full panel of a row-major a (sK = 1): 4 × 4 blocks transposed in registers, then the last k one by one
  if (MR === 4) {
    const sIb = f.local('i32'), k0 = f.local('i32');
    const rv = [0, 1, 2, 3].map(() => f.local('v128'));
    const tv = [0, 1, 2, 3].map(() => f.local('v128'));
    const lanes = (a: number[]): number[] => a.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);
    f.get(sK).i32(1).i32Eq().get(rows).i32(MR).i32Eq().i32And().if_();
    {
      f.get(sI).i32(2).i32Shl().set(sIb);
      f.get(src).set(p);
      f.get(dst).set(q);
      f.i32(0).set(k0);
      f.block().loop();
      f.get(k0).i32(4).i32Add().get(kc).i32GtS().brIf(1);
      for (let rr = 0; rr < 4; rr++) {
        f.get(p);
        if (rr > 0) f.get(sIb).i32(rr).i32Mul().i32Add();
        f.v128Load().set(rv[rr]!);
      }
      f.get(rv[0]!).get(rv[1]!).i8x16Shuffle(lanes([0, 4, 1, 5])).set(tv[0]!);
      f.get(rv[2]!).get(rv[3]!).i8x16Shuffle(lanes([0, 4, 1, 5])).set(tv[1]!);
      f.get(rv[0]!).get(rv[1]!).i8x16Shuffle(lanes([2, 6, 3, 7])).set(tv[2]!);
      f.get(rv[2]!).get(rv[3]!).i8x16Shuffle(lanes([2, 6, 3, 7])).set(tv[3]!);
      f.get(q).get(tv[0]!).get(tv[1]!).i8x16Shuffle(lanes([0, 1, 4, 5])).v128Store(0);
      f.get(q).get(tv[0]!).get(tv[1]!).i8x16Shuffle(lanes([2, 3, 6, 7])).v128Store(16);
      f.get(q).get(tv[2]!).get(tv[3]!).i8x16Shuffle(lanes([0, 1, 4, 5])).v128Store(32);
      f.get(q).get(tv[2]!).get(tv[3]!).i8x16Shuffle(lanes([2, 3, 6, 7])).v128Store(48);
      f.get(p).i32(16).i32Add().set(p);
      f.get(q).i32(64).i32Add().set(q);
      f.get(k0).i32(4).i32Add().set(k0);
      f.br(0);
      f.end().end();
      f.block().loop();
      f.get(k0).get(kc).i32GeS().brIf(1);
      for (let rr = 0; rr < 4; rr++) {
        f.get(q);
        f.get(p);
        if (rr > 0) f.get(sIb).i32(rr).i32Mul().i32Add();
        f.f32Load().f32Store(4 * rr);
      }
      f.get(p).i32(4).i32Add().set(p);
      f.get(q).i32(16).i32Add().set(q);
      f.get(k0).i32(1).i32Add().set(k0);
      f.br(0);
      f.end().end();
      f.return_();
    }
    f.end();
  }
  f.i32(0).set(r);
  f.block().loop();
  {
    f.get(r).i32(MR).i32GeS().brIf(1);
    f.get(dst).get(r).i32(2).i32Shl().i32Add().set(q);
    f.get(kc).set(k);
    f.get(r).get(rows).i32LtS().if_();
    {
      f.get(src).get(r).get(sI).i32Mul().i32(2).i32Shl().i32Add().set(p);
      f.loop();
      f.get(q).get(p).f32Load().f32Store();
      f.get(p).get(sKb).i32Add().set(p);
      f.get(q).i32(4 * MR).i32Add().set(q);
      f.get(k).i32(1).i32Sub().tee(k).brIf(0);
      f.end();
    }
    f.else_();
    {
      f.loop();
      f.get(q).f32(0).f32Store();
      f.get(q).i32(4 * MR).i32Add().set(q);
      f.get(k).i32(1).i32Sub().tee(k).brIf(0);
      f.end();
    }
    f.end();
    f.get(r).i32(1).i32Add().set(r);
    f.br(0);
  }
  f.end().end();
}

/** packB: per column j < cols copy kc strided elements; columns ≥ cols get zeros. */
function emitPackB(m: ModuleBuilder): void {
  const f = m.func('packB', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [src, sK, sJ, dst, cols, kc] = [0, 1, 2, 3, 4, 5];
  const j = f.local('i32'), k = f.local('i32'), p = f.local('i32'), q = f.local('i32');
  const sKb = f.local('i32');
  f.get(sK).i32(2).i32Shl().set(sKb);
  // a full panel of a row-major b (sJ = 1): two v128 per k
  f.get(sJ).i32(1).i32Eq().get(cols).i32(NR).i32Eq().i32And().if_();
  {
    f.get(src).set(p);
    f.get(dst).set(q);
    f.get(kc).set(k);
    f.loop();
    f.get(q).get(p).v128Load().v128Store();
    f.get(q).get(p).v128Load(16).v128Store(16);
    f.get(p).get(sKb).i32Add().set(p);
    f.get(q).i32(4 * NR).i32Add().set(q);
    f.get(k).i32(1).i32Sub().tee(k).brIf(0);
    f.end();
    f.return_();
  }
  f.end();
  f.i32(0).set(j);
  f.block().loop();
  {
    f.get(j).i32(NR).i32GeS().brIf(1);
    f.get(dst).get(j).i32(2).i32Shl().i32Add().set(q);
    f.get(kc).set(k);
    f.get(j).get(cols).i32LtS().if_();
    {
      f.get(src).get(j).get(sJ).i32Mul().i32(2).i32Shl().i32Add().set(p);
      f.loop();
      f.get(q).get(p).f32Load().f32Store();
      f.get(p).get(sKb).i32Add().set(p);
      f.get(q).i32(4 * NR).i32Add().set(q);
      f.get(k).i32(1).i32Sub().tee(k).brIf(0);
      f.end();
    }
    f.else_();
    {
      f.loop();
      f.get(q).f32(0).f32Store();
      f.get(q).i32(4 * NR).i32Add().set(q);
      f.get(k).i32(1).i32Sub().tee(k).brIf(0);
      f.end();
    }
    f.end();
    f.get(j).i32(1).i32Add().set(j);
    f.br(0);
  }
  f.end().end();
}

/** One k step of the micro-kernel: A values at pa + aOff, B vectors at pb + bOff. */
function emitStep(f: FuncBuilder, relaxed: boolean, acc: number[], pa: number, pb: number, av: number, b0: number, b1: number, aOff: number, bOff: number): void {
  f.get(pb).v128Load(bOff).set(b0);
  f.get(pb).v128Load(bOff + 16).set(b1);
  for (let r = 0; r < MR; r++) {
    f.get(pa).v128Load32Splat(aOff + 4 * r).set(av);
    for (let c = 0; c < 2; c++) {
      const a = acc[2 * r + c]!;
      if (relaxed) f.get(av).get(c === 0 ? b0 : b1).get(a).f32x4RelaxedMadd().set(a);
      else f.get(av).get(c === 0 ? b0 : b1).f32x4Mul().get(a).f32x4Add().set(a);
    }
  }
}

function emitPanel(m: ModuleBuilder, relaxed: boolean): void {
  const f = m.func('panel', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [ap, bp, cp, ldc, kc, n, accFlag] = [0, 1, 2, 3, 4, 5, 6];
  const acc = Array.from({ length: 2 * MR }, () => f.local('v128'));
  const av = f.local('v128'), b0 = f.local('v128'), b1 = f.local('v128');
  const pa = f.local('i32'), pb = f.local('i32'), row = f.local('i32'), k = f.local('i32'), jp = f.local('i32');
  const bStride = f.local('i32');
  f.get(kc).i32(4 * NR).i32Mul().set(bStride);
  f.i32(0).set(jp);
  f.block().loop();
  {
    f.get(jp).get(n).i32GeS().brIf(1);
    // load or clear the tile
    f.get(accFlag).if_();
    f.get(cp).set(row);
    for (let r = 0; r < MR; r++) {
      f.get(row).v128Load(0).set(acc[2 * r]!);
      f.get(row).v128Load(16).set(acc[2 * r + 1]!);
      if (r < MR - 1) f.get(row).get(ldc).i32Add().set(row);
    }
    f.else_();
    for (const a of acc) f.v128Zero().set(a);
    f.end();
    // k loop: one step per pass (unrolling makes V8 hoist the next step's loads and spill)
    f.get(ap).set(pa);
    f.get(bp).set(pb);
    f.get(kc).set(k);
    f.loop();
    emitStep(f, relaxed, acc, pa, pb, av, b0, b1, 0, 0);
    f.get(pa).i32(4 * MR).i32Add().set(pa);
    f.get(pb).i32(4 * NR).i32Add().set(pb);
    f.get(k).i32(1).i32Sub().tee(k).brIf(0);
    f.end();
    // store the tile
    f.get(cp).set(row);
    for (let r = 0; r < MR; r++) {
      f.get(row).get(acc[2 * r]!).v128Store(0);
      f.get(row).get(acc[2 * r + 1]!).v128Store(16);
      if (r < MR - 1) f.get(row).get(ldc).i32Add().set(row);
    }
    f.get(bp).get(bStride).i32Add().set(bp);
    f.get(cp).i32(4 * NR).i32Add().set(cp);
    f.get(jp).i32(1).i32Add().set(jp);
    f.br(0);
  }
  f.end().end();
}

/** The module bytes (memory imported as env.memory). */
export function matmulModuleBytes(opts: MatmulModuleOptions): Uint8Array {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: opts.maximumPages, shared: opts.shared });
  emitPackA(m);
  emitPackB(m);
  emitPanel(m, opts.relaxed);
  return m.bytes();
}
