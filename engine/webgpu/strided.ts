// Strided elementwise kernels (shaders/strided.wgsl): copy, copyInto, binary, where, pad.
//
// Before dispatch the shape is simplified: size-1 dims are dropped and adjacent dims merged when
// every view is contiguous across them. More than 6 dims left, or operands larger than one binding
// (see windows.ts), are handled by cutting the leading dims on the host into pieces (one dispatch
// each, offsets shifted, each large operand bound as the window its piece touches).

import type { BinaryOp, DType, View } from '../backend.js';
import type { Binding, Runtime } from './runtime.js';
import { valueBits } from './elementwise.js';
import { wgslType } from './storage.js';
import { ALIGN, fitsWhole, windowCovering, windowElems } from './windows.js';

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

interface Piece {
  plan: Plan;
  /** Element offset of the piece's first output element (contiguous outputs). */
  outOff: number;
}

/** Elements between the lowest and highest element a view of `p` touches, inclusive. */
function viewBounds(p: Plan, j: number): [number, number] {
  let lo = p.offsets[j]!;
  let hi = lo;
  p.shape.forEach((n, d) => {
    const e = p.strides[j]![d]! * (n - 1);
    if (e < 0) lo += e;
    else hi += e;
  });
  return [lo, hi];
}

/**
 * Split a plan into pieces the kernel can run: at most MAX_DIMS dims, and every operand that does
 * not fit one binding touching at most a window of elements (the leading dim is cut into blocks,
 * or into single indices and the next dim cut, until it does).
 */
export function stridedPieces(
  rt: Runtime,
  plan: Plan,
  viewFits: readonly boolean[],
  outFits: boolean | null,
): Piece[] {
  const W = windowElems(rt) - ALIGN; // a window starts up to ALIGN - 1 elements before its first element
  const pieces: Piece[] = [];
  const spanOf = (p: Plan, j: number): number => {
    const [lo, hi] = viewBounds(p, j);
    return hi - lo + 1;
  };
  const ok = (p: Plan, m: number): boolean =>
    p.shape.length <= MAX_DIMS &&
    viewFits.every((f, j) => f || spanOf(p, j) <= W) &&
    (outFits === null || outFits || m <= W);
  const rec = (p: Plan, outOff: number): void => {
    const m = numel(p.shape);
    if (m === 0) return;
    if (ok(p, m)) {
      pieces.push({ plan: p, outOff });
      return;
    }
    const n0 = p.shape[0]!;
    const rest = m / n0;
    const sub: Plan = { shape: p.shape.slice(1), offsets: p.offsets, strides: p.strides.map((st) => st.slice(1)) };
    const shifted = (q: Plan, i: number): Plan => ({
      ...q,
      offsets: q.offsets.map((o, j) => o + i * p.strides[j]![0]!),
    });
    if (p.shape.length <= MAX_DIMS) {
      let L = n0;
      viewFits.forEach((f, j) => {
        if (f) return;
        const inner = spanOf(sub, j);
        const s0 = Math.abs(p.strides[j]![0]!);
        if (inner > W) L = 0;
        else if (s0 > 0) L = Math.min(L, Math.floor((W - inner) / s0) + 1);
      });
      if (outFits === false) L = Math.min(L, Math.floor(W / rest));
      if (L >= 1) {
        for (let i0 = 0; i0 < n0; i0 += L) {
          const block: Plan = { ...shifted(p, i0), shape: [Math.min(L, n0 - i0), ...sub.shape] };
          pieces.push({ plan: block, outOff: outOff + i0 * rest });
        }
        return;
      }
    }
    for (let i = 0; i < n0; i++) rec(shifted(sub, i), outOff + i * rest);
  };
  rec(plan, 0);
  return pieces;
}

type Entry = 'copy' | 'copyInto' | 'binary' | 'whereSelect';
const BINDINGS: Record<Entry, string> = { copy: 'r--w', copyInto: 'r--w', binary: 'rr-w', whereSelect: 'rrrw' };
/** For each view (in `views` order), the position of its buffer in the kernel's buffer list. */
const VIEW_BUFFER: Record<Entry, number[]> = { copy: [0], copyInto: [0, 1], binary: [0, 1], whereSelect: [2, 0, 1] };
/** Position of the contiguous output buffer (null: copyInto writes through a view). */
const OUT_BUFFER: Record<Entry, number | null> = { copy: 1, copyInto: null, binary: 2, whereSelect: 3 };

/**
 * Dispatch one strided kernel. `views` order: [a] for copy, [a, dst] for copyInto,
 * [a, b] for binary, [cond, a, b] for where. Output (except copyInto) is contiguous.
 */
function runStrided(
  rt: Runtime,
  entry: Entry,
  dtype: DType,
  buffers: Binding[],
  shape: readonly number[],
  views: View[],
  constants: Record<string, number> | undefined,
  condFloat = false,
): void {
  const n = numel(shape);
  if (n === 0) return;
  const plan = simplify(shape, views);
  const k = rt.kernel({ file: 'strided.wgsl', entry, bindings: BINDINGS[entry], aliases: { T: wgslType(dtype) }, constants });
  const viewBuf = VIEW_BUFFER[entry];
  const outIdx = OUT_BUFFER[entry];
  const viewFits = viewBuf.map((bi) => fitsWhole(rt, buffers[bi]!));
  const outFits = outIdx === null ? null : fitsWhole(rt, buffers[outIdx]!);
  for (const { plan: p, outOff } of stridedPieces(rt, plan, viewFits, outFits)) {
    const m = numel(p.shape);
    const bound = [...buffers];
    const offsets = p.offsets.map((o, j) => {
      const bi = viewBuf[j]!;
      const [lo, hi] = viewBounds(p, j);
      const w = windowCovering(rt, buffers[bi]!, lo, hi);
      bound[bi] = w.binding;
      return o - w.base;
    });
    let oy = outOff;
    if (outIdx !== null) {
      const w = windowCovering(rt, buffers[outIdx]!, outOff, outOff + m - 1);
      bound[outIdx] = w.binding;
      oy = outOff - w.base;
    }
    // View slots in the shader: a, b, c.
    let sa: number[], sb: number[] = [], sc: number[] = [];
    let oa: number, ob = 0, oc = 0;
    if (entry === 'whereSelect') {
      [sc, sa, sb] = [p.strides[0]!, p.strides[1]!, p.strides[2]!];
      [oc, oa, ob] = [offsets[0]!, offsets[1]!, offsets[2]!];
    } else if (entry === 'copyInto') {
      sa = p.strides[0]!;
      sc = p.strides[1]!;
      oa = offsets[0]!;
      oc = offsets[1]!;
    } else {
      sa = p.strides[0]!;
      oa = offsets[0]!;
      if (entry === 'binary') {
        sb = p.strides[1]!;
        ob = offsets[1]!;
      }
    }
    const [gx, gy] = rt.grid(Math.ceil(m / WG));
    rt.dispatch(
      k,
      bound,
      (w) => {
        w.ints(p.shape, 8).ints(sa, 8).ints(sb, 8).ints(sc, 8);
        w.u(m).u(p.shape.length).i(oa).i(ob).i(oc).u(condFloat ? 1 : 0).u(oy).u(0);
      },
      gx,
      gy,
    );
  }
}

export function runCopy(rt: Runtime, dtype: DType, src: Binding, sv: View, shape: readonly number[], out: Binding): void {
  runStrided(rt, 'copy', dtype, [src, out], shape, [sv], undefined);
}

export function runCopyInto(
  rt: Runtime,
  dtype: DType,
  dst: Binding,
  dv: View,
  src: Binding,
  sv: View,
  shape: readonly number[],
): void {
  runStrided(rt, 'copyInto', dtype, [src, dst], shape, [sv, dv], undefined);
}

export function runBinary(
  rt: Runtime,
  op: BinaryOp,
  dtype: DType,
  a: Binding,
  av: View,
  b: Binding,
  bv: View,
  shape: readonly number[],
  out: Binding,
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
  c: Binding,
  cv: View,
  a: Binding,
  av: View,
  b: Binding,
  bv: View,
  shape: readonly number[],
  out: Binding,
): void {
  runStrided(rt, 'whereSelect', dtype, [a, b, c, out], shape, [cv, av, bv], undefined, condDtype === 'float32');
}

/**
 * out (contiguous, shape src shape + before + after) = src (contiguous) placed at `before`, the rest
 * `value`, in one dispatch. Returns false (nothing recorded) when it cannot: more than MAX_DIMS dims
 * or an operand larger than one binding; the caller then fills and copies.
 */
export function runPad(rt: Runtime, dtype: DType, src: Binding, srcShape: readonly number[], before: readonly number[], after: readonly number[], value: number, out: Binding): boolean {
  const shape = srcShape.map((d, i) => d + before[i]! + after[i]!);
  const n = numel(shape);
  if (n === 0) return true;
  if (shape.length > MAX_DIMS || !fitsWhole(rt, src) || !fitsWhole(rt, out)) return false;
  const strides = new Array<number>(srcShape.length);
  let st = 1;
  for (let d = srcShape.length - 1; d >= 0; d--) {
    strides[d] = st;
    st *= srcShape[d]!;
  }
  const bits = valueBits(value, dtype);
  const k = rt.kernel({ file: 'strided.wgsl', entry: 'pad', bindings: 'r--w', aliases: { T: wgslType(dtype) } });
  const [gx, gy] = rt.grid(Math.ceil(n / WG));
  rt.dispatch(
    k,
    [src, out],
    (w) => {
      w.ints(shape, 8).ints(strides, 8).ints(before, 8).ints(srcShape, 8);
      w.u(n).u(shape.length).i(0).i(0).i(0).u(0).u(0).u(bits);
    },
    gx,
    gy,
  );
  return true;
}
