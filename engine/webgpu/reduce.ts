// Reductions over arbitrary axes (shaders/reduce.wgsl).
//
// The shape is simplified (size-1 dims dropped, adjacent dims of the same kind merged) into groups
// of kept and reduced dims. Each reduced group is one pass over x viewed as [outer, R, inner],
// innermost group first; the keepdim output layout equals the shape with reduced groups removed.
// Long reductions with few outputs are split into chunks (two passes) so they fill the device.
// Inputs larger than one binding are reduced in slabs of the leading dims (reduceLarge), partial
// results of a reduced leading dim combined with the matching binary op.

import type { DType, ReduceOp } from '../backend.js';
import { runFill } from './elementwise.js';
import type { GpuBuffer } from './pool.js';
import type { Binding, Runtime } from './runtime.js';
import { wgslType } from './storage.js';
import { runBinary } from './strided.js';
import { contiguousSlab, fitsWhole, wholeBuffer, windowElems } from './windows.js';

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
  x: Binding,
  outer: number,
  R: number,
  inner: number,
  y: Binding,
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
    const k = rt.kernel({ file: 'reduce.wgsl', entry: 'reduceRows', bindings: 'rw', aliases: { T: t }, constants: { OP: OPS[op], WG: WGr } });
    const target: Binding = S === 1 ? y : rt.alloc(outer * S * bytes);
    const [gx, gy] = rt.grid(outer * S);
    rt.dispatch(k, [x, target], (w) => w.u(outer).u(R).u(1).u(L).u(S), gx, gy);
    if (S > 1) {
      pass(rt, op, dtype, target, outer, S, 1, y);
      rt.release(target as GpuBuffer);
    }
    return;
  }
  let S = 1;
  if (outputs < TARGET_THREADS && R > 64) S = Math.min(Math.ceil(TARGET_THREADS / outputs), Math.ceil(R / 32));
  const L = Math.ceil(R / S);
  S = Math.ceil(R / L);
  const k = rt.kernel({ file: 'reduce.wgsl', entry: 'reduceCols', bindings: 'rw', aliases: { T: t }, constants: { OP: OPS[op], WG } });
  const target: Binding = S === 1 ? y : rt.alloc(outer * S * inner * bytes);
  const [gx, gy] = rt.grid(Math.ceil((outer * S * inner) / WG));
  rt.dispatch(k, [x, target], (w) => w.u(outer).u(R).u(inner).u(L).u(S), gx, gy);
  if (S > 1) {
    pass(rt, op, dtype, target, outer, S, inner, y);
    rt.release(target as GpuBuffer);
  }
}

/** Reduce x (`shape`) over sorted unique `axes` into y (keepdim layout). */
export function runReduce(
  rt: Runtime,
  op: ReduceOp,
  dtype: DType,
  x: Binding,
  shape: readonly number[],
  axes: readonly number[],
  y: Binding,
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
  if (fitsWhole(rt, x) && fitsWhole(rt, y)) {
    reduceFitting(rt, op, dtype, x, shape, axes, y);
    return;
  }
  reduceLarge(rt, op, dtype, wholeBuffer(x, 'reduce'), 0, reduceGroups(shape, axes), wholeBuffer(y, 'reduce'), 0);
}

function reduceFitting(
  rt: Runtime,
  op: ReduceOp,
  dtype: DType,
  x: Binding,
  shape: readonly number[],
  axes: readonly number[],
  y: Binding,
): void {
  const groups = reduceGroups(shape, axes);
  const reducedIdx = groups.map((g, i) => (g.reduced ? i : -1)).filter((i) => i >= 0);
  if (reducedIdx.length === 0) {
    let n = 1;
    for (const s of shape) n *= s;
    rt.copyBuffer(wholeBuffer(x, 'reduce'), 0, wholeBuffer(y, 'reduce'), 0, n * 4);
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
    const dst: Binding = last ? y : rt.alloc(outer * inner * 4);
    pass(rt, op, dtype, cur, outer, R, inner, dst);
    if (cur !== x) rt.release(cur as GpuBuffer);
    cur = dst;
    sizes[gi] = 1;
  }
}

const COMBINE = { sum: 'add', max: 'maximum', min: 'minimum' } as const;

/**
 * Reduce x[xOff ..] (`groups`, alternating kept and reduced) into y[yOff ..] when x is larger than
 * one binding: slabs of whole leading indices that fit are reduced as usual, single leading
 * indices recursively; partial results over a reduced leading group are combined into y.
 */
function reduceLarge(
  rt: Runtime,
  op: ReduceOp,
  dtype: DType,
  x: GpuBuffer,
  xOff: number,
  groups: readonly Group[],
  y: GpuBuffer,
  yOff: number,
): void {
  let n = 1;
  let nOut = 1;
  for (const g of groups) {
    n *= g.size;
    if (!g.reduced) nOut *= g.size;
  }
  if (!groups.some((g) => g.reduced)) {
    rt.copyBuffer(x, xOff * 4, y, yOff * 4, n * 4);
    return;
  }
  const W = windowElems(rt);
  if (n <= W) {
    const xs = contiguousSlab(rt, x, xOff, n, true);
    const ys = contiguousSlab(rt, y, yOff, nOut, false);
    const shape = groups.map((g) => g.size);
    const axes = groups.flatMap((g, i) => (g.reduced ? [i] : []));
    reduceFitting(rt, op, dtype, xs.binding, shape, axes, ys.binding);
    if (xs.temp) rt.release(xs.temp);
    if (ys.temp) {
      rt.copyBuffer(ys.temp, 0, y, yOff * 4, nOut * 4);
      rt.release(ys.temp);
    }
    return;
  }
  const g0 = groups[0]!;
  const rest = n / g0.size;
  const restOut = g0.reduced ? nOut : nOut / g0.size;
  const L = Math.floor(W / rest);
  const blocks: Array<[number, Group[]]> = [];
  if (L >= 1) {
    for (let i0 = 0; i0 < g0.size; i0 += L) blocks.push([i0, [{ size: Math.min(L, g0.size - i0), reduced: g0.reduced }, ...groups.slice(1)]]);
  } else {
    for (let i = 0; i < g0.size; i++) blocks.push([i, groups.slice(1)]);
  }
  blocks.forEach(([i0, sub], bi) => {
    const xo = xOff + i0 * rest;
    if (!g0.reduced) {
      reduceLarge(rt, op, dtype, x, xo, sub, y, yOff + i0 * restOut);
    } else if (bi === 0) {
      reduceLarge(rt, op, dtype, x, xo, sub, y, yOff);
    } else {
      const part = rt.alloc(restOut * 4);
      reduceLarge(rt, op, dtype, x, xo, sub, part, 0);
      const both = rt.alloc(restOut * 4);
      runBinary(rt, COMBINE[op], dtype, y, { offset: yOff, strides: [1] }, part, { offset: 0, strides: [1] }, [restOut], both);
      rt.copyBuffer(both, 0, y, yOff * 4, restOut * 4);
      rt.release(part);
      rt.release(both);
    }
  });
}
