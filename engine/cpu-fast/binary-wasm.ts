// Float32 binary elementwise ops (add, sub, mul, div, maximum, minimum) as WebAssembly SIMD, for
// the layouts that dominate a training step: both operands full, or one of them a row broadcast
// over every row ([C] bias over [R, C]) or a column broadcast (one value per row, or a scalar).
//
// One exported function per op and layout, named `${op}_${kindA}${kindB}` with kinds f (full
// [R, L]), r (a row of L repeated) and c (one value per row); signature (a, b, out, R, L), byte
// addresses. float32 +, −, ×, ÷ give exactly the float64 result rounded to float32 (what the
// reference computes), and f32 min / max follow Math.min / Math.max (NaN propagates, −0 < +0), so
// results are bit-identical to engine/cpu/elementwise.ts.

import { FuncBuilder, ModuleBuilder } from '../wasm/emitter.js';

export const BINARY_WASM_OPS = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const;
export type BinaryWasmOp = (typeof BINARY_WASM_OPS)[number];
export type OperandKind = 'f' | 'r' | 'c';
/** The layouts that get a function (full with full, or one broadcast operand). */
export const LAYOUTS: readonly [OperandKind, OperandKind][] = [['f', 'f'], ['f', 'r'], ['f', 'c'], ['r', 'f'], ['c', 'f']];

function vecOp(f: FuncBuilder, op: BinaryWasmOp): void {
  if (op === 'add') f.f32x4Add();
  else if (op === 'sub') f.f32x4Sub();
  else if (op === 'mul') f.f32x4Mul();
  else if (op === 'div') f.f32x4Div();
  else if (op === 'maximum') f.f32x4Max();
  else f.f32x4Min();
}

function scalarOp(f: FuncBuilder, op: BinaryWasmOp): void {
  if (op === 'add') f.f32Add();
  else if (op === 'sub') f.f32Sub();
  else if (op === 'mul') f.f32Mul();
  else if (op === 'div') f.f32Div();
  else if (op === 'maximum') f.f32Max();
  else f.f32Min();
}

function emitBinary(m: ModuleBuilder, op: BinaryWasmOp, ka: OperandKind, kb: OperandKind): void {
  const f = m.func(`${op}_${ka}${kb}`, ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [a, b, out, R, L] = [0, 1, 2, 3, 4];
  const r = f.local('i32'), j = f.local('i32'), pa = f.local('i32'), pb = f.local('i32');
  const va = f.local('v128'), vb = f.local('v128'), sa = f.local('f32'), sb = f.local('f32');
  const kinds: [OperandKind, number, number, number, number][] = [[ka, a, pa, va, sa], [kb, b, pb, vb, sb]];
  f.get(a).set(pa);
  f.get(b).set(pb);
  f.i32(0).set(r);
  f.block().loop();
  {
    f.get(r).get(R).i32GeS().brIf(1);
    for (const [k, base, p, v, s] of kinds) {
      if (k === 'r') f.get(base).set(p); // the row restarts
      if (k === 'c') {
        f.get(p).f32Load().tee(s).f32x4Splat().set(v);
        f.get(p).i32(4).i32Add().set(p);
      }
    }
    f.i32(0).set(j);
    // four at a time
    f.block().loop();
    f.get(j).i32(4).i32Add().get(L).i32GtS().brIf(1);
    f.get(out);
    for (const [k, , p, v] of kinds) {
      if (k === 'c') f.get(v);
      else {
        f.get(p).v128Load();
        f.get(p).i32(16).i32Add().set(p);
      }
    }
    vecOp(f, op);
    f.v128Store();
    f.get(out).i32(16).i32Add().set(out);
    f.get(j).i32(4).i32Add().set(j);
    f.br(0);
    f.end().end();
    // the rest one at a time
    f.block().loop();
    f.get(j).get(L).i32GeS().brIf(1);
    f.get(out);
    for (const [k, , p, , s] of kinds) {
      if (k === 'c') f.get(s);
      else {
        f.get(p).f32Load();
        f.get(p).i32(4).i32Add().set(p);
      }
    }
    scalarOp(f, op);
    f.f32Store();
    f.get(out).i32(4).i32Add().set(out);
    f.get(j).i32(1).i32Add().set(j);
    f.br(0);
    f.end().end();
    f.get(r).i32(1).i32Add().set(r);
    f.br(0);
  }
  f.end().end();
}

export type BinaryExports = Record<string, (a: number, b: number, out: number, R: number, L: number) => void>;

export function binaryModuleBytes(opts: { shared: boolean; maximumPages: number }): Uint8Array {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: opts.maximumPages, shared: opts.shared });
  for (const op of BINARY_WASM_OPS) for (const [ka, kb] of LAYOUTS) emitBinary(m, op, ka, kb);
  return m.bytes();
}
