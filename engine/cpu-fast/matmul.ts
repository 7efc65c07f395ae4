// The fast float32 matmul: operands read in place when they are resident in the shared WebAssembly
// memory (else copied in), b packed into KC × NR panels once per distinct batch element, output rows
// split into units that the main thread and the pool's workers claim (matmul-unit.ts); the tiles go
// straight into a resident output when M and N need no padding, else into a padded block copied out.
//
// Sums: each output element is accumulated in float32 over k in order (one multiply-add per k,
// fused when the runtime's relaxed SIMD fuses), whichever thread computes it. A b broadcast over the
// batch with a's batch elements back to back runs as one tall [batch·M, K] × [K, N] product.

import type { MatmulSpec, Storage } from '../backend.js';
import { batchOffsets } from '../cpu/matmul.js';
import { allocArray, dataOf } from '../cpu/storage.js';
import { numel } from '../cpu/strided.js';
import { CTRL, runMatmulUnit } from './matmul-unit.js';
import { MR, NR } from './matmul-wasm.js';
import { matmulPool, threadCount } from './pool.js';
import { allocScratch, CONTROL_BYTES, DESC_BYTE, f32View, heapAddr, kernelOut, resetScratch, stageIn, type WasmHeap } from './wasm-heap.js';

/** Depth of a k block (an A panel MR·KC and a B panel KC·NR stay in L1). */
const KC = 256;
/** Tuning knobs (tests lower minThreadFlops to send small products through the workers). */
export const fastMatmulTuning = {
  /** Products below this many flops (2·batch·M·N·K) stay on the main thread. */
  minThreadFlops: 1 << 24,
};
/** Batch elements per job (the descriptor table's capacity in the control page). */
const MAX_DESC = Math.floor((CONTROL_BYTES - DESC_BYTE) / 20);

interface Plan {
  M: number;
  aOffs: number[];
  bOffs: number[];
}

/** Fold a broadcast b over consecutive a batch elements into one tall product. */
function plan(spec: MatmulSpec): Plan {
  const { aOffs, bOffs } = batchOffsets(spec);
  const { M, K } = spec;
  if (!spec.transA && aOffs.length > 1 && bOffs.every((o) => o === bOffs[0]) && aOffs.every((o, t) => o === aOffs[0]! + t * M * K)) {
    return { M: M * aOffs.length, aOffs: [aOffs[0]!], bOffs: [bOffs[0]!] };
  }
  return { M, aOffs, bOffs };
}

/** out [batch·M·N] = a · b for float32 storages (spec as in engine/backend.ts). */
export function fastMatmul(h: WasmHeap, a: Storage, b: Storage, spec: MatmulSpec): Float32Array {
  const A = dataOf(a, 'matmul') as Float32Array;
  const B = dataOf(b, 'matmul') as Float32Array;
  const { K, N, transA, transB } = spec;
  const total = numel(spec.batch) * spec.M * N;
  if (total === 0 || K === 0) return allocArray('float32', total) as Float32Array;
  const { M, aOffs, bOffs } = plan(spec);
  const Np = Math.ceil(N / NR) * NR;
  const Mp = Math.ceil(M / MR) * MR;
  const threads = h.shared ? threadCount() : 1;
  const useThreads = threads > 1 && 2 * total * K >= fastMatmulTuning.minThreadFlops;
  const [aI, aK] = transA ? [1, M] : [K, 1];
  const [bK, bJ] = transB ? [1, K] : [N, 1];
  const panelsPerBatch = Mp / MR;
  // the tiles go straight into the output when it is resident and needs no padding
  resetScratch();
  const o = kernelOut(h, total);
  const direct = Mp === M && Np === N && heapAddr(o.out) === o.addr;
  for (let t0 = 0; t0 < aOffs.length; t0 += MAX_DESC) {
    const nb = Math.min(MAX_DESC, aOffs.length - t0);
    if (t0 > 0) resetScratch();
    const scratchBytes = 4 * MR * KC;
    const scratch = allocScratch(h, scratchBytes * threads);
    const aAddr = stageIn(h, A);
    const bAddr = stageIn(h, B);
    // pack each distinct b once
    const packed = new Map<number, number>();
    const bPacks: number[] = [];
    for (let t = t0; t < t0 + nb; t++) {
      let dst = packed.get(bOffs[t]!);
      if (dst === undefined) {
        dst = allocScratch(h, 4 * K * Np);
        for (let k0 = 0; k0 < K; k0 += KC) {
          const kc = Math.min(KC, K - k0);
          for (let j0 = 0; j0 < N; j0 += NR) {
            h.ex.packB(bAddr + 4 * (bOffs[t]! + k0 * bK + j0 * bJ), bK, bJ, dst + 4 * (k0 * Np + j0 * kc), Math.min(NR, N - j0), kc);
          }
        }
        packed.set(bOffs[t]!, dst);
      }
      bPacks.push(dst);
    }
    const cAddr = direct ? o.addr + 4 * t0 * M * N : allocScratch(h, 4 * nb * Mp * Np);
    // the job
    const ctrl = h.ctrl;
    const unitsWanted = useThreads ? Math.max(1, Math.ceil((8 * threads) / nb)) : 1;
    const upbPanels = Math.ceil(panelsPerBatch / Math.min(panelsPerBatch, unitsWanted));
    const rpu = upbPanels * MR;
    const upb = Math.ceil(Mp / rpu);
    ctrl[CTRL.M] = M;
    ctrl[CTRL.K] = K;
    ctrl[CTRL.N] = N;
    ctrl[CTRL.NP] = Np;
    ctrl[CTRL.KC] = KC;
    ctrl[CTRL.UPB] = upb;
    ctrl[CTRL.RPU] = rpu;
    ctrl[CTRL.DESC] = DESC_BYTE;
    ctrl[CTRL.SCRATCH] = scratch;
    ctrl[CTRL.SCRATCH_BYTES] = scratchBytes;
    ctrl[CTRL.MR] = MR;
    ctrl[CTRL.NR] = NR;
    for (let t = 0; t < nb; t++) {
      const d = (DESC_BYTE >> 2) + 5 * t;
      ctrl[d] = aAddr + 4 * aOffs[t0 + t]!;
      ctrl[d + 1] = aI;
      ctrl[d + 2] = aK;
      ctrl[d + 3] = bPacks[t]!;
      ctrl[d + 4] = cAddr + 4 * t * Mp * Np;
    }
    const units = nb * upb;
    if (useThreads) matmulPool(h).run(units);
    else for (let u = 0; u < units; u++) runMatmulUnit(h.ex, ctrl, CTRL, u, 0);
    if (direct) continue;
    // copy the valid [M, N] block of each padded output out
    const mem = f32View(h);
    const out = o.out;
    for (let t = 0; t < nb; t++) {
      const c = (cAddr >> 2) + t * Mp * Np;
      const at = (t0 + t) * M * N;
      if (Np === N) out.set(mem.subarray(c, c + M * N), at);
      else for (let i = 0; i < M; i++) out.set(mem.subarray(c + i * Np, c + i * Np + N), at + i * N);
    }
  }
  return o.out;
}
