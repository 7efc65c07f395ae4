// What the runtime's WebAssembly offers, probed once with tiny modules from the emitter:
// 128-bit SIMD, threads (shared memory), and relaxed SIMD (f32x4.relaxed_madd). Node 20 ships
// relaxed SIMD behind --experimental-wasm-relaxed-simd; V8 accepts that flag at run time before
// the first module using it is compiled, so the probe sets it (process-wide, workers included)
// unless CAMELS_WASM_RELAXED=0, and keeps relaxed SIMD only when the runtime then validates it.

import { setFlagsFromString } from 'node:v8';
import { ModuleBuilder } from './emitter.js';

export interface WasmFeatures {
  simd: boolean;
  threads: boolean;
  relaxedSimd: boolean;
}

function probe(build: (m: ModuleBuilder) => void, shared: boolean): boolean {
  try {
    const m = new ModuleBuilder({ module: 'env', name: 'memory', initialPages: 1, maximumPages: 1, shared });
    build(m);
    return WebAssembly.validate(m.bytes());
  } catch {
    return false;
  }
}

const simdProbe = (m: ModuleBuilder): void => {
  const f = m.func('f', ['i32'], []);
  f.get(0).get(0).v128Load().get(0).v128Load().f32x4Add().v128Store();
};

const relaxedProbe = (m: ModuleBuilder): void => {
  const f = m.func('f', ['i32'], []);
  f.get(0).get(0).v128Load().get(0).v128Load().get(0).v128Load().f32x4RelaxedMadd().v128Store();
};

let cached: WasmFeatures | null = null;

export function wasmFeatures(): WasmFeatures {
  if (cached) return cached;
  const simd = probe(simdProbe, false);
  const threads = simd && typeof SharedArrayBuffer === 'function' && probe(simdProbe, true);
  let relaxedSimd = false;
  if (simd && process.env.CAMELS_WASM_RELAXED !== '0') {
    relaxedSimd = probe(relaxedProbe, false);
    if (!relaxedSimd) {
      try {
        setFlagsFromString('--experimental-wasm-relaxed-simd');
      } catch {
        // flag unknown to this runtime: stay without relaxed SIMD
      }
      relaxedSimd = probe(relaxedProbe, false);
    }
  }
  cached = { simd, threads, relaxedSimd };
  return cached;
}
