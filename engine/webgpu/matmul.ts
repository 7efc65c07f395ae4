// Batched matmul: batch-dim simplification, the path (gpu family: the per-shape table of
// matmul-table.ts choosing shaders/matmul_tiled128.wgsl or the general shaders/matmul.wgsl kernel,
// with split-K; software family: the uniform-window rows kernel or one invocation per output), and
// dispatch (batch beyond 65535 or 4 dims split on the host). Operands larger than one binding go
// through matmul-large.ts.

import type { MatmulSpec } from '../backend.js';
import { runFill } from './elementwise.js';
import { runMatmulLarge } from './matmul-large.js';
import { chooseTile as chooseTileFor, describePlan, planMatmul, TILE128, tileThreads, vec4Aligned, type MatmulLimits, type MatmulPlan, type MatmulTile, type MatmulVariant } from './matmul-table.js';
import { GpuBuffer } from './pool.js';
import type { Binding, Runtime, UniformWriter } from './runtime.js';
import { fitsWhole, wholeBuffer } from './windows.js';

export { TILES, type MatmulTile } from './matmul-table.js';

/** The adapter limits the matmul table reads. */
export function matmulLimits(rt: Runtime): MatmulLimits {
  return {
    maxComputeInvocationsPerWorkgroup: rt.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupStorageSize: rt.limits.maxComputeWorkgroupStorageSize,
    maxBindingBytes: rt.maxBindingBytes,
  };
}

interface BatchPlan {
  shape: number[];
  sa: number[];
  sb: number[];
}

/** Drop size-1 batch dims and merge dims contiguous in both operands. */
export function simplifyBatch(spec: MatmulSpec): BatchPlan {
  const shape: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  spec.batch.forEach((s, d) => {
    if (s === 1) return;
    const a = spec.aBatchStrides[d]!;
    const b = spec.bBatchStrides[d]!;
    const l = shape.length - 1;
    if (l >= 0 && sa[l] === a * s && sb[l] === b * s) {
      shape[l]! *= s;
      sa[l] = a;
      sb[l] = b;
    } else {
      shape.push(s);
      sa.push(a);
      sb.push(b);
    }
  });
  return { shape, sa, sb };
}

/** Tile override for benchmarks: the general kernel with this tile, no split (null = automatic). */
let forcedTile: MatmulTile | null = null;
export function setMatmulTile(t: MatmulTile | null): void {
  forcedTile = t;
}

/** Variant / split override for tests (null = the table's choice); a fast variant the alignment rule refuses is an error. */
export interface MatmulPlanOverride {
  variant?: MatmulVariant;
  split?: number;
}
let forcedPlan: MatmulPlanOverride | null = null;
export function setMatmulPlan(p: MatmulPlanOverride | null): void {
  forcedPlan = p;
}

/** The plan of the last gpu-family product dispatched (tests assert which variant ran). */
let lastPlan: MatmulPlan | null = null;
export function lastMatmulPlan(): MatmulPlan | null {
  return lastPlan;
}

/** The kernel the last runMatmul used, e.g. 'tiled128 128x128 split 3', 'rows', 'windowed (tiled 128x64)'. */
let lastVariant: string | null = null;
export function lastMatmulVariant(): string | null {
  return lastVariant;
}

/** Path override for tests and benchmarks (null = automatic). */
export type MatmulPath = 'tiled' | 'rows' | 'naive';
let forcedPath: MatmulPath | null = null;
export function setMatmulPath(p: MatmulPath | null): void {
  forcedPath = p;
}

/** Software adapters: below this many multiply-adds (all batches) one invocation per output wins. */
const NAIVE_MAX_MACS = 1 << 14;
const ROWS_CPU = 64; // shaders/matmul.wgsl ROWS_CPU
const WX_CPU = 8; // invocations per workgroup, 8 columns each
const COLS_CPU = WX_CPU * 8;

interface Dims {
  M: number;
  N: number;
  K: number;
  batch: number;
  nbatch: number;
  bshape: number[];
  bsa: number[];
  bsb: number[];
}

function writeParams(
  w: UniformWriter,
  d: Dims,
  extra: {
    zbase?: number;
    KCB?: number;
    Npad?: number;
    KB?: number;
    MB?: number;
    Kp?: number;
    block0?: number;
    accumulate?: boolean;
    total?: number;
    kchunk?: number;
    splits?: number;
  },
): void {
  w.u(d.M).u(d.N).u(d.K).u(d.nbatch).u(extra.zbase ?? 0).u(extra.KCB ?? 0).u(extra.Npad ?? 0).u(extra.KB ?? 0);
  w.ints(d.bshape, 4).ints(d.bsa, 4).ints(d.bsb, 4);
  w.u(extra.MB ?? 0).u(extra.Kp ?? 0).u(extra.block0 ?? 0).u(extra.accumulate ? 1 : 0).u(extra.total ?? 0);
  w.u(extra.kchunk ?? 0).u(extra.splits ?? 0);
}

/**
 * C = op(A) op(B) (+ bias [N] on every row). Returns whether the bias was added: the gpu family's
 * kernels add it in their epilogue; the software family and the windowed path leave it to the caller.
 */
export function runMatmul(rt: Runtime, a: Binding, b: Binding, spec: MatmulSpec, c: Binding, bias: Binding | null = null): boolean {
  const { M, N, K } = spec;
  if (spec.batch.length !== spec.aBatchStrides.length || spec.batch.length !== spec.bBatchStrides.length) {
    throw new Error('webgpu matmul: batch strides must match the batch rank');
  }
  let batch = 1;
  for (const s of spec.batch) batch *= s;
  if (batch === 0 || M === 0 || N === 0) return true;
  if (K === 0) {
    runFill(rt, c, batch * M * N, 'float32', 0); // empty contraction: zeros
    return false;
  }
  if (!fitsWhole(rt, a) || !fitsWhole(rt, b) || !fitsWhole(rt, c)) {
    runMatmulLarge(rt, wholeBuffer(a, 'matmul'), wholeBuffer(b, 'matmul'), spec, wholeBuffer(c, 'matmul'), matmulFitting);
    lastVariant = `windowed (${lastVariant ?? 'none'})`;
    return false;
  }
  return matmulFitting(rt, a, b, spec, c, bias);
}

/** runMatmul for operands bound whole or as windows (no size checks; K > 0); true when it added the bias. */
function matmulFitting(rt: Runtime, a: Binding, b: Binding, spec: MatmulSpec, c: Binding, bias: Binding | null = null): boolean {
  const { M, N, K } = spec;
  let batch = 1;
  for (const s of spec.batch) batch *= s;
  const plan = simplifyBatch(spec);
  if (plan.shape.length > 4) {
    throw new Error(`webgpu matmul: more than 4 non-mergeable batch dims ([${spec.batch.join(', ')}]) are not supported`);
  }
  const pad = (v: number[], fill: number): number[] => [...new Array<number>(4 - v.length).fill(fill), ...v];
  const dims: Dims = {
    M,
    N,
    K,
    batch,
    nbatch: plan.shape.length,
    bshape: pad(plan.shape, 1),
    bsa: pad(plan.sa, 0),
    bsb: pad(plan.sb, 0),
  };
  let path: MatmulPath = 'tiled';
  if (rt.softwareAdapter) path = batch * M * N * K < NAIVE_MAX_MACS || rt.windowBytes < 65536 ? 'naive' : 'rows';
  path = forcedPath ?? path;
  lastVariant = path;
  if (path === 'rows') runRows(rt, a, b, spec, dims, c);
  else if (path === 'naive') runNaive(rt, a, b, spec, dims, c);
  else {
    runTiled(rt, a, b, spec, dims, c, bias);
    return true;
  }
  return bias === null;
}

/** One invocation per output element (tiny problems on software adapters). */
function runNaive(rt: Runtime, a: Binding, b: Binding, spec: MatmulSpec, d: Dims, c: Binding): void {
  const total = d.batch * d.M * d.N;
  const k = rt.kernel({ file: 'matmul.wgsl', entry: 'matmul_naive', bindings: 'rrw', constants: { TRANS_A: spec.transA, TRANS_B: spec.transB } });
  const [gx, gy] = rt.grid(Math.ceil(total / 64));
  rt.dispatch(k, [a, b, c], (w) => writeParams(w, d, { total }), gx, gy);
}

/** The table's plan for this product on this runtime, with the test / benchmark overrides applied. */
export function planFor(rt: Runtime, a: Binding, b: Binding, spec: MatmulSpec, d: Dims): MatmulPlan {
  const limits = matmulLimits(rt);
  if (forcedTile) return { variant: 'tiled', tile: forcedTile, split: 1, kchunk: d.K };
  const offset = (x: Binding): number => (x instanceof GpuBuffer ? 0 : x.offset);
  const aligned = vec4Aligned(spec, d.bsa, d.bsb, offset(a), offset(b));
  let plan = planMatmul({ M: d.M, N: d.N, K: d.K, batch: d.batch, transA: spec.transA, transB: spec.transB, aligned }, limits);
  if (forcedPlan) {
    const variant = forcedPlan.variant ?? plan.variant;
    if (variant === 'tiled128' && !aligned) {
      throw new Error(`webgpu matmul: the tiled128 variant needs vec4-aligned operands (M=${d.M} N=${d.N} K=${d.K} transA=${spec.transA} transB=${spec.transB})`);
    }
    const tile = variant === plan.variant ? plan.tile : variant === 'tiled128' ? TILE128 : chooseTileFor(limits, d.M, d.N, d.batch);
    const split = Math.max(1, Math.min(forcedPlan.split ?? plan.split, Math.ceil(d.K / tile.BK)));
    if (split > 1 && d.batch !== 1) throw new Error(`webgpu matmul: split-K needs batch 1, got batch ${d.batch}`);
    const kchunk = split > 1 ? Math.ceil(d.K / split / tile.BK) * tile.BK : d.K;
    plan = { variant, tile, split: split > 1 ? Math.ceil(d.K / kchunk) : 1, kchunk };
  }
  return plan;
}

/**
 * Workgroup-shared tiles with register blocking (GPUs): the table's kernel, split-K when it says so,
 * and the bias (when given) added in the epilogue of the kernel that writes C.
 */
function runTiled(rt: Runtime, a: Binding, b: Binding, spec: MatmulSpec, d: Dims, c: Binding, bias: Binding | null): void {
  const { M, N } = d;
  const plan = planFor(rt, a, b, spec, d);
  lastPlan = plan;
  lastVariant = describePlan(plan);
  const { tile, split } = plan;
  // The bias binding always exists; without a bias it is `a` (read only, never read).
  const biasOrDummy = bias ?? a;
  const consts = { TRANS_A: spec.transA, TRANS_B: spec.transB, HAS_BIAS: bias !== null && split === 1 };
  const k =
    plan.variant === 'tiled128'
      ? rt.kernel({ file: 'matmul_tiled128.wgsl', entry: 'matmul_tiled128', bindings: 'rrwr', constants: consts })
      : rt.kernel({
          file: 'matmul.wgsl',
          entry: 'matmul',
          bindings: 'rrw---r',
          constants: { BM: tile.BM, BN: tile.BN, BK: tile.BK, TM: tile.TM, WG: tileThreads(tile), ...consts },
        });
  const gx = Math.ceil(N / tile.BN);
  const gy = Math.ceil(M / tile.BM);
  const maxZ = rt.maxGroupsPerDim;
  if (gx > maxZ || gy > maxZ) throw new Error(`webgpu matmul: ${M}x${N} output needs more than ${maxZ} tiles per dimension`);
  if (split > 1) {
    // Partial products into a [S, M, N] scratch (z = split), then one reduction into C.
    const scratch = rt.alloc(split * M * N * 4);
    rt.dispatch(k, [a, b, scratch, biasOrDummy], (w) => writeParams(w, d, { kchunk: plan.kchunk, splits: split }), gx, gy, split);
    const reduce = rt.kernel({ file: 'matmul.wgsl', entry: 'splitk_reduce', bindings: 'r-w---r', constants: { HAS_BIAS: bias !== null } });
    const [rx, ry] = rt.grid(Math.ceil((M * N) / 64));
    rt.dispatch(reduce, [scratch, c, biasOrDummy], (w) => writeParams(w, d, { total: M * N, splits: split }), rx, ry);
    rt.release(scratch);
    return;
  }
  for (let z0 = 0; z0 < d.batch; z0 += maxZ) {
    const gz = Math.min(maxZ, d.batch - z0);
    rt.dispatch(k, [a, b, c, biasOrDummy], (w) => writeParams(w, d, { zbase: z0 }), gx, gy, gz);
  }
}

/**
 * Software-adapter path: pack A into uniform-window blocks and B into a padded [batch, Kp, Npad]
 * copy, then one workgroup per (block, 64 columns) with A read through a uniform window.
 */
function runRows(rt: Runtime, a: Binding, b: Binding, spec: MatmulSpec, d: Dims, c: Binding): void {
  const { M, N, K, batch } = d;
  const windowFloats = rt.windowBytes / 4;
  const Kp = Math.ceil(K / 4) * 4;
  const KCB = Math.min(Math.floor(windowFloats / ROWS_CPU / 4) * 4, Kp);
  const KB = Math.ceil(Kp / KCB);
  const MB = Math.ceil(M / ROWS_CPU);
  const Npad = Math.ceil(N / COLS_CPU) * COLS_CPU;
  const blockFloats = ROWS_CPU * KCB;
  const blocks = batch * MB * KB;
  const perWindow = KB === 1 ? Math.max(1, Math.floor(windowFloats / blockFloats)) : 1;
  const dispatches = Math.ceil(blocks / perWindow);
  const lastWindow = (dispatches - 1) * perWindow * blockFloats * 4;
  const consts = { TRANS_A: spec.transA, TRANS_B: spec.transB };

  const apFloats = blocks * blockFloats;
  const ap = rt.allocUniform(Math.max(apFloats * 4, lastWindow + rt.windowBytes));
  const packA = rt.kernel({ file: 'matmul.wgsl', entry: 'pack_a', bindings: 'r----w', constants: consts });
  const aRows = blocks * ROWS_CPU;
  let [gx, gy] = rt.grid(Math.ceil(aRows / 64));
  rt.dispatch(packA, [a, ap], (w) => writeParams(w, d, { KCB, KB, MB, Kp, total: aRows }), gx, gy);

  const bpFloats = batch * Kp * Npad;
  const bp = rt.alloc(bpFloats * 4);
  const packB = rt.kernel({ file: 'matmul.wgsl', entry: 'pack_b', bindings: '-r---w', constants: consts });
  const bRows = batch * Kp;
  [gx, gy] = rt.grid(Math.ceil(bRows / 64));
  rt.dispatch(packB, [b, bp], (w) => writeParams(w, d, { Npad, Kp, total: bRows }), gx, gy);

  const main = rt.kernel({ file: 'matmul.wgsl', entry: 'matmul_rows', bindings: '--wur', constants: { WX_CPU } });
  const cols = Npad / COLS_CPU;
  for (let di = 0; di < dispatches; di++) {
    const block0 = di * perWindow;
    const count = Math.min(perWindow, blocks - block0);
    const accumulate = KB > 1 && block0 % KB !== 0;
    rt.dispatch(
      main,
      [c, ap, bp],
      (w) => writeParams(w, d, { KCB, Npad, KB, MB, Kp, block0, accumulate }),
      cols,
      count,
      1,
      [block0 * blockFloats * 4],
    );
  }
  rt.release(ap);
  rt.release(bp);
}
