// Reductions over arbitrary axes (shaders/reduce.wgsl).
//
// The shape is simplified (size-1 dims dropped, adjacent dims of the same kind merged) into groups
// of kept and reduced dims. Each reduced group is one pass over x viewed as [outer, R, inner],
// innermost group first; the keepdim output layout equals the shape with reduced groups removed.
// Long reductions with few outputs are split into chunks (two passes) so they fill the device.

import type { DType, ReduceOp } from '../backend.js';
import type { GpuBuffer } from './pool.js';
import type { Runtime } from './runtime.js';
import { wgslType } from './storage.js';
import { runFill } from './elementwise.js';

const WG = 256;
const OPS: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2 };
/** Aim for at least this many threads (cols) or workgroups x WG (rows) in flight. */
const TARGET_THREADS = 32768;

interface Group {
  size: number;
  reduced: boolean;
}

export function reduceGroups(shape: readonly number[], axes: readonly number[]): Group[] {
  const red = new Set(axes);
  const groups: Group[] = [];
  for (let d = 0; d < shape.length; d++) {
    const s = shape[d]!;
    if (s === 1) continue;
    const r = red.has(d);
    const last = groups[groups.length - 1];
    if (last && last.reduced === r) last.size *= s;
    else groups.push({ size: s, reduced: r });
  }
  return groups;
}

/** One reduction pass of x [outer, R, inner] over R into y [outer, inner]. */
function pass(
  rt: Runtime,
  op: ReduceOp,
  dtype: DType,
  x: GpuBuffer,
  outer: number,
  R: number,
  inner: number,
  y: GpuBuffer,
): void {
  const t = wgslType(dtype);
  const outputs = outer * inner;
  const bytes = dtype === 'int32' ? 4 : 4;
  if (inner === 1 && R > 64) {
    // One workgroup per row (or row chunk); small workgroups on software adapters (see rows.ts).
    const WGr = rt.softwareAdapter ? 16 : WG;
    let S = 1;
    if (outer * WGr < TARGET_THREADS && R > 4 * WGr) S = Math.min(Math.ceil(TARGET_THREADS / (outer * WGr)), Math.ceil(R / (4 * WGr)));
    const L = Math.ceil(R / S);
    S = Math.ceil(R / L);
    const k = rt.kernel({ file: 'reduce.wgsl', entry: 'reduce_rows', bindings: 'rw', aliases: { T: t }, constants: { OP: OPS[op], WG: WGr } });
    const target = S === 1 ? y : rt.alloc(outer * S * bytes);
    const [gx, gy] = rt.grid(outer * S);
    rt.dispatch(k, [x, target], (w) => w.u(outer).u(R).u(1).u(L).u(S), gx, gy);
    if (S > 1) {
      pass(rt, op, dtype, target, outer, S, 1, y);
      rt.release(target);
    }
    return;
  }
  let S = 1;
  if (outputs < TARGET_THREADS && R > 64) S = Math.min(Math.ceil(TARGET_THREADS / outputs), Math.ceil(R / 32));
  const L = Math.ceil(R / S);
  S = Math.ceil(R / L);
  const k = rt.kernel({ file: 'reduce.wgsl', entry: 'reduce_cols', bindings: 'rw', aliases: { T: t }, constants: { OP: OPS[op], WG } });
  const target = S === 1 ? y : rt.alloc(outer * S * inner * bytes);
  const [gx, gy] = rt.grid(Math.ceil((outer * S * inner) / WG));
  rt.dispatch(k, [x, target], (w) => w.u(outer).u(R).u(inner).u(L).u(S), gx, gy);
  if (S > 1) {
    pass(rt, op, dtype, target, outer, S, inner, y);
    rt.release(target);
  }
}

/** Reduce x (`shape`) over sorted unique `axes` into y (keepdim layout). */
export function runReduce(
  rt: Runtime,
  op: ReduceOp,
  dtype: DType,
  x: GpuBuffer,
  shape: readonly number[],
  axes: readonly number[],
  y: GpuBuffer,
): void {
  if (OPS[op] === undefined) throw new Error(`webgpu: unknown reduce op ${String(op)}`);
  let n = 1;
  for (const s of shape) n *= s;
  let outN = 1;
  shape.forEach((s, d) => {
    if (!axes.includes(d)) outN *= s;
  });
  if (outN === 0) return;
  if (n === 0) {
    // Reduction over an empty axis: the op's identity.
    const v = op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity;
    runFill(rt, y, outN, dtype, dtype === 'int32' && v !== 0 ? (v > 0 ? 2147483647 : -2147483648) : v);
    return;
  }
  const groups = reduceGroups(shape, axes);
  const reducedIdx = groups.map((g, i) => (g.reduced ? i : -1)).filter((i) => i >= 0);
  if (reducedIdx.length === 0) {
    rt.copyBuffer(x, 0, y, 0, n * 4);
    return;
  }
  let cur = x;
  const sizes = groups.map((g) => g.size);
  for (let p = reducedIdx.length - 1; p >= 0; p--) {
    const gi = reducedIdx[p]!;
    let outer = 1;
    for (let i = 0; i < gi; i++) outer *= sizes[i]!;
    let inner = 1;
    for (let i = gi + 1; i < sizes.length; i++) inner *= sizes[i]!;
    const R = sizes[gi]!;
    const last = p === 0;
    const dst = last ? y : rt.alloc(outer * inner * 4);
    pass(rt, op, dtype, cur, outer, R, inner, dst);
    if (cur !== x) rt.release(cur);
    cur = dst;
    sizes[gi] = 1;
  }
}
