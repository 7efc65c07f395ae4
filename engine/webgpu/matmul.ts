// Batched matmul (shaders/matmul.wgsl): tile configuration from the problem size and device
// limits, batch-dim simplification, and dispatch (batch beyond 65535 or 4 dims split on the host).

import type { MatmulSpec } from '../backend.js';
import type { GpuBuffer } from './pool.js';
import type { Runtime } from './runtime.js';

export interface MatmulTile {
  BM: number;
  BN: number;
  BK: number;
  TM: number;
}

/** Candidate tiles, largest first; each thread computes TM x 4 outputs. */
export const TILES: Record<'large' | 'medium' | 'small', MatmulTile> = {
  large: { BM: 128, BN: 64, BK: 16, TM: 8 },
  medium: { BM: 64, BN: 64, BK: 16, TM: 4 },
  small: { BM: 32, BN: 32, BK: 16, TM: 4 },
};

function threads(t: MatmulTile): number {
  return (t.BM / t.TM) * (t.BN / 4);
}

function fits(rt: Runtime, t: MatmulTile): boolean {
  const shared = (t.BM + t.BN) * t.BK * 4;
  return threads(t) <= rt.limits.maxComputeInvocationsPerWorkgroup && shared <= rt.limits.maxComputeWorkgroupStorageSize;
}

/** Workgroups wanted in flight before a bigger tile is worth it. */
const FILL_WORKGROUPS = 256;

export function chooseTile(rt: Runtime, M: number, N: number, batch: number, override?: MatmulTile): MatmulTile {
  if (override) return override;
  for (const t of [TILES.large, TILES.medium]) {
    const groups = Math.ceil(M / t.BM) * Math.ceil(N / t.BN) * batch;
    if (groups >= FILL_WORKGROUPS && fits(rt, t)) return t;
  }
  if (M >= 64 && N >= 64 && fits(rt, TILES.medium) && Math.ceil(M / 32) * Math.ceil(N / 32) * batch > FILL_WORKGROUPS / 2) {
    return TILES.medium;
  }
  return TILES.small;
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

/** Tile override for benchmarks (null = automatic). */
let forcedTile: MatmulTile | null = null;
export function setMatmulTile(t: MatmulTile | null): void {
  forcedTile = t;
}

export function runMatmul(rt: Runtime, a: GpuBuffer, b: GpuBuffer, spec: MatmulSpec, c: GpuBuffer): void {
  const { M, N, K } = spec;
  if (spec.batch.length !== spec.aBatchStrides.length || spec.batch.length !== spec.bBatchStrides.length) {
    throw new Error('webgpu matmul: batch strides must match the batch rank');
  }
  let batch = 1;
  for (const s of spec.batch) batch *= s;
  if (batch === 0 || M === 0 || N === 0) return;
  if (K === 0) {
    // Empty contraction: zeros.
    const k = rt.kernel({ file: 'fill.wgsl', entry: 'fill', bindings: 'w' });
    const n = batch * M * N;
    const [gx, gy] = rt.grid(Math.ceil(n / 256));
    rt.dispatch(k, [c], (w) => w.u(n).u(0), gx, gy);
    return;
  }
  const plan = simplifyBatch(spec);
  const tile = chooseTile(rt, M, N, batch, forcedTile ?? undefined);
  const k = rt.kernel({
    file: 'matmul.wgsl',
    entry: 'matmul',
    bindings: 'rrw',
    constants: { BM: tile.BM, BN: tile.BN, BK: tile.BK, TM: tile.TM, WG: threads(tile), TRANS_A: spec.transA, TRANS_B: spec.transB },
  });
  const gx = Math.ceil(N / tile.BN);
  const gy = Math.ceil(M / tile.BM);
  const maxZ = rt.maxGroupsPerDim;
  if (gx > maxZ || gy > maxZ) throw new Error(`webgpu matmul: ${M}x${N} output needs more than ${maxZ} tiles per dimension`);

  // Leading batch dims beyond 4 are looped on the host (offsets folded into the buffer view would
  // need a binding offset; instead each host iteration uses zbase over the merged inner dims).
  const lead = Math.max(0, plan.shape.length - 4);
  const inner = { shape: plan.shape.slice(lead), sa: plan.sa.slice(lead), sb: plan.sb.slice(lead) };
  let innerCount = 1;
  for (const s of inner.shape) innerCount *= s;
  const pad = (v: number[], fill: number): number[] => [...new Array<number>(4 - v.length).fill(fill), ...v];
  const bshape = pad(inner.shape, 1);
  const bsa = pad(inner.sa, 0);
  const bsb = pad(inner.sb, 0);
  if (lead > 0) {
    throw new Error(`webgpu matmul: more than 4 non-mergeable batch dims ([${spec.batch.join(', ')}]) are not supported`);
  }
  for (let z0 = 0; z0 < innerCount; z0 += maxZ) {
    const gz = Math.min(maxZ, innerCount - z0);
    rt.dispatch(
      k,
      [a, b, c],
      (w) => {
        w.u(M).u(N).u(K).u(inner.shape.length).u(z0).u(0).u(0).u(0);
        w.ints(bshape, 4).ints(bsa, 4).ints(bsb, 4);
      },
      gx,
      gy,
      gz,
    );
  }
}
