// Row indexing kernels (shaders/gather.wgsl): gather, deterministic scatterAdd, oneHot.
// No readback: indices are not validated here (the engine checks host-known indices); out-of-range
// indices give zero rows (gather, oneHot) or are skipped (scatterAdd) and never touch memory out of
// bounds.

import type { DType } from '../backend.js';
import { runFill } from './elementwise.js';
import type { GpuBuffer } from './pool.js';
import type { Runtime } from './runtime.js';
import { wgslType } from './storage.js';

const WG = 256;

export function runGather(rt: Runtime, table: GpuBuffer, N: number, D: number, idx: GpuBuffer, M: number, y: GpuBuffer, dtype: DType = 'float32'): void {
  const n = M * D;
  if (n === 0) return;
  const k = rt.kernel({ file: 'gather.wgsl', entry: 'gather', bindings: 'rr-w', aliases: { T: wgslType(dtype) } });
  const [gx, gy] = rt.grid(Math.ceil(n / WG));
  rt.dispatch(k, [table, idx, y], (w) => w.u(N).u(D).u(M).u(0), gx, gy);
}

export function runOneHot(rt: Runtime, idx: GpuBuffer, R: number, C: number, dtype: DType, y: GpuBuffer): void {
  const n = R * C;
  if (n === 0) return;
  const k = rt.kernel({ file: 'gather.wgsl', entry: 'one_hot', bindings: '-r-w', aliases: { T: wgslType(dtype) } });
  const [gx, gy] = rt.grid(Math.ceil(n / WG));
  rt.dispatch(k, [idx, y], (w) => w.u(0).u(0).u(R).u(C), gx, gy);
}

export function runScatterAdd(
  rt: Runtime,
  dtype: DType,
  src: GpuBuffer,
  M: number,
  D: number,
  idx: GpuBuffer,
  N: number,
  y: GpuBuffer,
): void {
  const T = wgslType(dtype);
  runFill(rt, y, N * D, dtype, 0);
  if (M === 0 || D === 0 || N === 0) return;
  const links = rt.alloc(2 * M * 4);
  const kl = rt.kernel({ file: 'gather.wgsl', entry: 'scatter_links', bindings: '-rw', aliases: { T } });
  const [lx, ly] = rt.grid(Math.ceil(M / WG));
  rt.dispatch(kl, [idx, links], (w) => w.u(N).u(D).u(M).u(0), lx, ly);
  const kr = rt.kernel({ file: 'gather.wgsl', entry: 'scatter_rows', bindings: 'rrww', aliases: { T } });
  const [gx, gy] = rt.grid(Math.ceil((M * D) / WG));
  rt.dispatch(kr, [src, idx, links, y], (w) => w.u(N).u(D).u(M).u(0), gx, gy);
  rt.release(links);
}
