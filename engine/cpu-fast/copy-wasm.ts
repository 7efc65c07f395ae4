// Strided float32 copies as a WebAssembly module: dst[od + idx·sd] = src[os + idx·ss] over a
// (coalesced) shape of up to four dims, all loops in WebAssembly — the reference walks the same
// odometer in JS. Values are moved bit-exactly (f32 / v128 loads and stores).
//
// Export (byte addresses): copyStrided(dst, src, desc) with desc twelve int32: shape[4], then the
// byte strides of dst[4] and src[4] (leading dims of size 1 pad a shorter shape). Rows whose inner
// strides are both 4 bytes move four floats per v128.

import { ModuleBuilder } from '../wasm/emitter.js';

export interface CopyExports {
  copyStrided(dst: number, src: number, desc: number): void;
}

export function copyModuleBytes(opts: { shared: boolean; maximumPages: number }): Uint8Array {
  const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: opts.maximumPages, shared: opts.shared });
  const f = m.func('copyStrided', ['i32', 'i32', 'i32']);
  const [dst, src, desc] = [0, 1, 2];
  const n = [0, 1, 2, 3].map(() => f.local('i32'));
  const sd = [0, 1, 2, 3].map(() => f.local('i32'));
  const ss = [0, 1, 2, 3].map(() => f.local('i32'));
  const i = [0, 1, 2].map(() => f.local('i32'));
  const pd = [0, 1, 2, 3].map(() => f.local('i32'));
  const ps = [0, 1, 2, 3].map(() => f.local('i32'));
  const j = f.local('i32'), contiguous = f.local('i32');
  for (let d = 0; d < 4; d++) {
    f.get(desc).i32Load(4 * d).set(n[d]!);
    f.get(desc).i32Load(16 + 4 * d).set(sd[d]!);
    f.get(desc).i32Load(32 + 4 * d).set(ss[d]!);
  }
  f.get(sd[3]!).i32(4).i32Eq().get(ss[3]!).i32(4).i32Eq().i32And().set(contiguous);
  f.get(dst).set(pd[0]!);
  f.get(src).set(ps[0]!);
  // three outer loops (d = 0, 1, 2), each: for i[d] in [0, n[d]) with pd[d + 1], ps[d + 1] walking
  for (let d = 0; d < 3; d++) {
    f.i32(0).set(i[d]!);
    f.get(pd[d]!).set(pd[d + 1]!);
    f.get(ps[d]!).set(ps[d + 1]!);
    f.block().loop();
    f.get(i[d]!).get(n[d]!).i32GeS().brIf(1);
  }
  // the inner row
  f.i32(0).set(j);
  f.get(contiguous).if_();
  {
    f.block().loop();
    f.get(j).i32(4).i32Add().get(n[3]!).i32GtS().brIf(1);
    f.get(pd[3]!).get(j).i32(2).i32Shl().i32Add().get(ps[3]!).get(j).i32(2).i32Shl().i32Add().v128Load().v128Store();
    f.get(j).i32(4).i32Add().set(j);
    f.br(0);
    f.end().end();
    f.block().loop();
    f.get(j).get(n[3]!).i32GeS().brIf(1);
    f.get(pd[3]!).get(j).i32(2).i32Shl().i32Add().get(ps[3]!).get(j).i32(2).i32Shl().i32Add().f32Load().f32Store();
    f.get(j).i32(1).i32Add().set(j);
    f.br(0);
    f.end().end();
  }
  f.else_();
  {
    const a = f.local('i32'), b = f.local('i32');
    f.get(pd[3]!).set(a);
    f.get(ps[3]!).set(b);
    f.block().loop();
    f.get(j).get(n[3]!).i32GeS().brIf(1);
    f.get(a).get(b).f32Load().f32Store();
    f.get(a).get(sd[3]!).i32Add().set(a);
    f.get(b).get(ss[3]!).i32Add().set(b);
    f.get(j).i32(1).i32Add().set(j);
    f.br(0);
    f.end().end();
  }
  f.end();
  for (let d = 2; d >= 0; d--) {
    f.get(pd[d + 1]!).get(sd[d]!).i32Add().set(pd[d + 1]!);
    f.get(ps[d + 1]!).get(ss[d]!).i32Add().set(ps[d + 1]!);
    f.get(i[d]!).i32(1).i32Add().set(i[d]!);
    f.br(0);
    f.end().end();
  }
  return m.bytes();
}
