// One work unit of the fast float32 matmul — a block of output rows of one batch element — run by
// the main thread and by every pool worker. `runMatmulUnit` must stay self-contained (it reads only
// its arguments and the constant table it is given): the workers get it as source text.
//
// Job parameters live in the control block at the start of the shared memory (Int32 indices in
// CTRL). The descriptor table holds per batch element five int32: a's first element (byte address),
// a's row and k strides (elements), b's packed panels (byte address), the padded output block (byte
// address). Unit u covers rows [i0, i1) of batch element u / UPB: for each MR-row panel and each
// KC-deep k block it packs the A panel into the thread's scratch and runs `panel` across all of
// the packed B panels of that k block, accumulating into the padded [Mp, Np] output.

/** Control block layout (Int32Array indices at byte 0 of the shared memory). */
export const CTRL = {
  SEQ: 0, // bumped once per job; idle workers wait on it
  NEXT: 1, // next unit to claim (set far past TOTAL between jobs)
  DONE: 2, // units finished (or failed)
  TOTAL: 3,
  M: 4,
  K: 5,
  N: 6,
  NP: 7, // N rounded up to NR
  KC: 8, // k block depth
  UPB: 9, // units per batch element
  RPU: 10, // rows per unit (a multiple of MR)
  DESC: 11, // byte address of the descriptor table
  SCRATCH: 12, // byte address of the per-thread A panel scratch (SCRATCH_BYTES each)
  SCRATCH_BYTES: 13,
  ERR: 14, // units that threw in a worker
  READY: 15, // workers started
  STOP: 16, // set to make workers exit
  MR: 17,
  NR: 18,
  WORKER_UNITS: 19, // units done by workers (stats)
  SIZE: 32,
} as const;

export interface MatmulExports {
  packA(src: number, sI: number, sK: number, dst: number, rows: number, kc: number): void;
  packB(src: number, sK: number, sJ: number, dst: number, cols: number, kc: number): void;
  panel(ap: number, bp: number, cp: number, ldc: number, kc: number, n: number, acc: number): void;
}

/** Compute unit `u` of the published job on thread `tid` (0 = main). */
export function runMatmulUnit(ex: MatmulExports, ctrl: Int32Array, C: typeof CTRL, u: number, tid: number): void {
  const M = ctrl[C.M]!, K = ctrl[C.K]!, NP = ctrl[C.NP]!, KC = ctrl[C.KC]!;
  const UPB = ctrl[C.UPB]!, RPU = ctrl[C.RPU]!, MRr = ctrl[C.MR]!, NRr = ctrl[C.NR]!;
  const b = (u / UPB) | 0;
  const i0 = (u - b * UPB) * RPU;
  const i1 = Math.min(M, i0 + RPU);
  const d = (ctrl[C.DESC]! >> 2) + 5 * b;
  const aSrc = ctrl[d]!, sI = ctrl[d + 1]!, sK = ctrl[d + 2]!, bPack = ctrl[d + 3]!, cOut = ctrl[d + 4]!;
  const scratch = ctrl[C.SCRATCH]! + tid * ctrl[C.SCRATCH_BYTES]!;
  const nPanels = NP / NRr;
  for (let i = i0; i < i1; i += MRr) {
    const rows = Math.min(MRr, M - i);
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = Math.min(KC, K - k0);
      ex.packA(aSrc + 4 * (i * sI + k0 * sK), sI, sK, scratch, rows, kc);
      ex.panel(scratch, bPack + 4 * k0 * NP, cOut + 4 * i * NP, 4 * NP, kc, nPanels, k0 > 0 ? 1 : 0);
    }
  }
}
