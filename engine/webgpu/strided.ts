// Strided elementwise kernels (shaders/strided.wgsl): copy, copyInto, binary, where.
//
// Before dispatch the shape is simplified: size-1 dims are dropped and adjacent dims merged when
// every view is contiguous across them. More than 6 dims left are handled by looping over the
// leading dims on the host (one dispatch each, offsets shifted).

import type { BinaryOp, DType, View } from '../backend.js';
import type { GpuBuffer } from './pool.js';
import type { Runtime } from './runtime.js';
import { wgslType } from './storage.js';

const WG = 256;
const MAX_DIMS = 6;

export const BINARY_OPS: Record<BinaryOp, number> = {
  add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5, pow: 6,
  eq: 7, ne: 8, lt: 9, le: 10, gt: 11, ge: 12,
};

interface Plan {
  shape: number[];
  offsets: number[];
  strides: number[][];
}

/** Drop size-1 dims and merge dims that are contiguous in every view. */
export function simplify(shape: readonly number[], views: readonly View[]): Plan {
  const dims: number[] = [];
  const strides: number[][] = views.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const s = shape[d]!;
    if (s === 1) continue;
    const last = dims.length - 1;
    if (
      last >= 0 &&
      views.every((v, j) => strides[j]![last] === v.strides[d]! * s)
    ) {
      dims[last] = dims[last]! * s;
      views.forEach((v, j) => {
        strides[j]![last] = v.strides[d]!;
      });
    } else {
      dims.push(s);
      views.forEach((v, j) => strides[j]!.push(v.strides[d]!));
    }
  }
  return { shape: dims, offsets: views.map((v) => v.offset), strides };
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** Run `fn` once per leading-dim index when the plan has more than MAX_DIMS dims. */
function forEachChunk(plan: Plan, outContiguous: boolean, fn: (p: Plan, outElemOffset: number) => void): void {
  if (plan.shape.length <= MAX_DIMS) {
    fn(plan, 0);
    return;
  }
  const lead = plan.shape.length - MAX_DIMS;
  const leadShape = plan.shape.slice(0, lead);
  const tail = plan.shape.slice(lead);
  const tailN = numel(tail);
  const count = numel(leadShape);
  const idx = new Array<number>(lead).fill(0);
  for (let c = 0; c < count; c++) {
    const offsets = plan.offsets.map((o, j) => {
      let off = o;
      for (let d = 0; d < lead; d++) off += idx[d]! * plan.strides[j]![d]!;
      return off;
    });
    fn({ shape: tail, offsets, strides: plan.strides.map((s) => s.slice(lead)) }, outContiguous ? c * tailN : 0);
    for (let d = lead - 1; d >= 0; d--) {
      if (++idx[d]! < leadShape[d]!) break;
      idx[d] = 0;
    }
  }
}

type Entry = 'copy' | 'copy_into' | 'binary' | 'where_select';
const BINDINGS: Record<Entry, string> = { copy: 'r--w', copy_into: 'r--w', binary: 'rr-w', where_select: 'rrrw' };

/**
 * Dispatch one strided kernel. `views` order: [a] for copy, [a, dst] for copy_into,
 * [a, b] for binary, [cond, a, b] for where. Output (except copy_into) is contiguous.
 */
function runStrided(
  rt: Runtime,
  entry: Entry,
  dtype: DType,
  buffers: GpuBuffer[],
  shape: readonly number[],
  views: View[],
  constants: Record<string, number> | undefined,
  condFloat = false,
): void {
  const n = numel(shape);
  if (n === 0) return;
  const plan = simplify(shape, views);
  const k = rt.kernel({ file: 'strided.wgsl', entry, bindings: BINDINGS[entry], aliases: { T: wgslType(dtype) }, constants });
  const outContiguous = entry !== 'copy_into';
  forEachChunk(plan, outContiguous, (p, outOff) => {
    const m = numel(p.shape);
    // View slots in the shader: a, b, c.
    let sa: number[], sb: number[] = [], sc: number[] = [];
    let oa: number, ob = 0, oc = 0;
    if (entry === 'where_select') {
      [sc, sa, sb] = [p.strides[0]!, p.strides[1]!, p.strides[2]!];
      [oc, oa, ob] = [p.offsets[0]!, p.offsets[1]!, p.offsets[2]!];
    } else if (entry === 'copy_into') {
      sa = p.strides[0]!;
      sc = p.strides[1]!;
      oa = p.offsets[0]!;
      oc = p.offsets[1]!;
    } else {
      sa = p.strides[0]!;
      oa = p.offsets[0]!;
      if (entry === 'binary') {
        sb = p.strides[1]!;
        ob = p.offsets[1]!;
      }
    }
    const [gx, gy] = rt.grid(Math.ceil(m / WG));
    rt.dispatch(
      k,
      buffers,
      (w) => {
        w.ints(p.shape, 8).ints(sa, 8).ints(sb, 8).ints(sc, 8);
        w.u(m).u(p.shape.length).i(oa).i(ob).i(oc).u(condFloat ? 1 : 0).u(outOff);
      },
      gx,
      gy,
    );
  });
}

export function runCopy(rt: Runtime, dtype: DType, src: GpuBuffer, sv: View, shape: readonly number[], out: GpuBuffer): void {
  runStrided(rt, 'copy', dtype, [src, out], shape, [sv], undefined);
}

export function runCopyInto(
  rt: Runtime,
  dtype: DType,
  dst: GpuBuffer,
  dv: View,
  src: GpuBuffer,
  sv: View,
  shape: readonly number[],
): void {
  runStrided(rt, 'copy_into', dtype, [src, dst], shape, [sv, dv], undefined);
}

export function runBinary(
  rt: Runtime,
  op: BinaryOp,
  dtype: DType,
  a: GpuBuffer,
  av: View,
  b: GpuBuffer,
  bv: View,
  shape: readonly number[],
  out: GpuBuffer,
): void {
  const code = BINARY_OPS[op];
  if (code === undefined) throw new Error(`webgpu: unknown binary op ${String(op)}`);
  if (dtype === 'int32' && op === 'pow') throw new Error('webgpu: binary pow is not defined for int32');
  runStrided(rt, 'binary', dtype, [a, b, out], shape, [av, bv], { OP: code });
}

export function runWhere(
  rt: Runtime,
  dtype: DType,
  condDtype: DType,
  c: GpuBuffer,
  cv: View,
  a: GpuBuffer,
  av: View,
  b: GpuBuffer,
  bv: View,
  shape: readonly number[],
  out: GpuBuffer,
): void {
  runStrided(rt, 'where_select', dtype, [a, b, c, out], shape, [cv, av, bv], undefined, condDtype === 'float32');
}
