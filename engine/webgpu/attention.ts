// Fused attention forward (shaders/attention.wgsl): tile sizes from the head dim and the device's
// workgroup memory; one workgroup per (query block, batch * head).

import type { AttentionSpec } from '../backend.js';
import type { GpuBuffer } from './pool.js';
import type { Runtime } from './runtime.js';

const LANES = 8;

export function attentionTiles(D: number, sharedLimit: number): { BQ: number; BKV: number; DPT: number } {
  const DPT = Math.max(1, Math.ceil(D / LANES));
  if (DPT > 32) throw new Error(`webgpu attention: head dim ${D} is larger than ${LANES * 32}`);
  const DP = DPT * LANES;
  for (const BQ of [16, 8]) {
    for (const BKV of [32, 16, 8]) {
      const bytes = 4 * (BQ * DP + BKV * (DP + 1) + BKV * DP + BQ * BKV);
      if (bytes <= sharedLimit) return { BQ, BKV, DPT };
    }
  }
  throw new Error(`webgpu attention: head dim ${D} does not fit in ${sharedLimit} bytes of workgroup memory`);
}

export function runAttention(
  rt: Runtime,
  q: GpuBuffer,
  k: GpuBuffer,
  v: GpuBuffer,
  keyMask: GpuBuffer | null,
  maskFloat: boolean,
  spec: AttentionSpec,
  out: GpuBuffer,
): void {
  const { B, H, T, D } = spec;
  if (B * H * T * D === 0) return;
  const t = attentionTiles(D, rt.limits.maxComputeWorkgroupStorageSize);
  const kern = rt.kernel({
    file: 'attention.wgsl',
    entry: 'attention',
    bindings: 'rrrrw',
    constants: { BQ: t.BQ, LANES, BKV: t.BKV, DPT: t.DPT },
  });
  const gx = Math.ceil(T / t.BQ);
  const gy = B * H;
  if (gx > rt.maxGroupsPerDim || gy > rt.maxGroupsPerDim) throw new Error(`webgpu attention: B*H=${gy} or T=${T} too large`);
  rt.dispatch(
    kern,
    [q, k, v, keyMask ?? q, out],
    (w) =>
      w
        .u(B)
        .u(H)
        .u(T)
        .u(D)
        .f(spec.scale)
        .u(spec.causal ? 1 : 0)
        .u(spec.window)
        .u(keyMask ? 1 : 0)
        .u(maskFloat ? 1 : 0),
    gx,
    gy,
  );
}
