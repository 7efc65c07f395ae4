// Binding windows for storages larger than one binding may be.
//
// A storage is one device buffer of up to maxBufferSize bytes (2 GiB on llvmpipe), but a kernel
// binding may expose at most maxStorageBufferBindingSize bytes (128 MiB on llvmpipe, where
// DistilGPT-2's 147 MiB embedding and a batch's 400 MiB logits do not fit). Ops whose operands are
// larger split their work into pieces and bind a window (offset + size) of each buffer per piece.
// Window offsets must be multiples of 256 bytes (the largest minStorageBufferOffsetAlignment any
// adapter may ask for), i.e. of ALIGN = 64 elements of 4 bytes; kernels that take an element
// offset absorb the remainder, the others are given pieces whose starts are aligned.

import { GpuBuffer } from './pool.js';
import { bindingBytes, bufferOf, type Binding, type BufferRange, type Runtime } from './runtime.js';

/** Window offset alignment in 4-byte elements (256 bytes). */
export const ALIGN = 64;

/** Most elements one binding may expose (a multiple of ALIGN). */
export function windowElems(rt: Runtime): number {
  return Math.floor(rt.maxBindingBytes / 4 / ALIGN) * ALIGN;
}

/** The binding can be bound as is. */
export function fitsWhole(rt: Runtime, b: Binding): boolean {
  return bindingBytes(b) <= rt.maxBindingBytes;
}

/** Elements [start, start + count) of a binding as a window; start must be a multiple of ALIGN. */
export function windowOf(b: Binding, start: number, count: number): BufferRange {
  if (start % ALIGN !== 0) throw new Error(`webgpu: window start ${start} is not a multiple of ${ALIGN} elements`);
  const base = b instanceof GpuBuffer ? 0 : b.offset;
  const offset = base + start * 4;
  const end = b instanceof GpuBuffer ? b.bytes : b.offset + b.size;
  if (offset + count * 4 > end) {
    throw new Error(`webgpu: window [${start}, ${start + count}) lies outside its ${bindingBytes(b)}-byte buffer`);
  }
  // Whole vec4s where the buffer has room (vectorised kernels read and write 16 bytes at a time;
  // only a storage's last window can end mid-vector, and its tail is the buffer's padding).
  const size = Math.min(Math.max(16, Math.ceil((count * 4) / 16) * 16), end - offset);
  return { buf: bufferOf(b), offset, size };
}

/** Largest multiple of `step` that is <= n (0 when n < step). */
export function floorTo(n: number, step: number): number {
  return Math.floor(n / step) * step;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Smallest row count r > 0 with r * perRow a multiple of ALIGN. */
export function alignedRowStep(perRow: number): number {
  return ALIGN / gcd(perRow % ALIGN, ALIGN);
}

/**
 * Run `fn` over [0, n) elements in pieces; every binding in `bufs` holds n elements (same layout)
 * and is given as a window of the piece. One call with the bindings themselves when all fit.
 */
export function forEachElementPiece(
  rt: Runtime,
  n: number,
  bufs: readonly Binding[],
  fn: (bindings: Binding[], start: number, count: number) => void,
): void {
  if (bufs.every((b) => fitsWhole(rt, b))) {
    fn([...bufs], 0, n);
    return;
  }
  const W = windowElems(rt);
  for (let start = 0; start < n; start += W) {
    const count = Math.min(W, n - start);
    fn(bufs.map((b) => windowOf(b, start, count)), start, count);
  }
}

/** How a piece's kernel uses an operand (decides what staging copies in and back). */
export type Access = 'r' | 'w' | 'rw';

/** Where element `start` of a binding lives: its buffer and byte offset. */
function locate(b: Binding, start: number): [GpuBuffer, number] {
  return b instanceof GpuBuffer ? [b, start * 4] : [b.buf, b.offset + start * 4];
}

/**
 * Run `fn` over rows [0, R) in pieces. `bufs` are [binding, elements per row, 'r' read | 'w'
 * written whole | 'rw' read and (partly) written] triples of row-major operands. One call with the bindings themselves when all fit.
 * Pieces start at rows where every operand's window is aligned when such pieces fit a binding;
 * otherwise (very long rows) operands whose piece starts unaligned are staged through temporary
 * copies (read ones copied in, written ones copied back).
 */
export function forEachRowPiece(
  rt: Runtime,
  op: string,
  R: number,
  bufs: ReadonlyArray<readonly [Binding, number, Access]>,
  fn: (bindings: Binding[], r0: number, rows: number) => void,
): void {
  if (bufs.every(([b]) => fitsWhole(rt, b))) {
    fn(bufs.map(([b]) => b), 0, R);
    return;
  }
  let step = 1;
  let widest = 1;
  for (const [, per] of bufs) {
    const s = alignedRowStep(per);
    step = (step * s) / gcd(step, s);
    widest = Math.max(widest, per);
  }
  const W = windowElems(rt);
  let rows = floorTo(Math.floor(W / widest), step);
  const staged = rows === 0;
  if (staged) rows = Math.floor(W / widest);
  if (rows === 0) {
    throw new Error(`webgpu ${op}: rows of ${widest} elements are longer than one ${rt.maxBindingBytes}-byte binding`);
  }
  for (let r0 = 0; r0 < R; r0 += rows) {
    const n = Math.min(rows, R - r0);
    const temps: Array<[GpuBuffer, Binding, number, number, Access]> = [];
    const bound = bufs.map(([b, per, mode]) => {
      const start = r0 * per;
      if (!staged || start % ALIGN === 0) return windowOf(b, start, n * per);
      const t = rt.alloc(n * per * 4);
      if (mode !== 'w') {
        const [src, off] = locate(b, start);
        rt.copyBuffer(src, off, t, 0, n * per * 4);
      }
      temps.push([t, b, start, n * per, mode]);
      return t;
    });
    fn(bound, r0, n);
    for (const [t, b, start, count, mode] of temps) {
      if (mode !== 'r') {
        const [dst, off] = locate(b, start);
        rt.copyBuffer(t, 0, dst, off, count * 4);
      }
      rt.release(t);
    }
  }
}

/**
 * Elements [start, start + n) of a buffer as one contiguous binding for kernels that take no element
 * offset: the buffer itself, an aligned window, or (unaligned start) a temporary the caller
 * releases, filled from the buffer when `copyIn`.
 */
export function contiguousSlab(rt: Runtime, b: GpuBuffer, start: number, n: number, copyIn: boolean): { binding: Binding; temp: GpuBuffer | null } {
  if (start === 0 && fitsWhole(rt, b)) return { binding: b, temp: null };
  if (start % ALIGN === 0) return { binding: windowOf(b, start, n), temp: null };
  const temp = rt.alloc(n * 4);
  if (copyIn) rt.copyBuffer(b, start * 4, temp, 0, n * 4);
  return { binding: temp, temp };
}

/**
 * The window of `b` covering elements [lo, hi] (inclusive) and the element offset of `lo` inside
 * it: the binding itself (offset lo) when it fits whole.
 */
export function windowCovering(rt: Runtime, b: Binding, lo: number, hi: number): { binding: Binding; base: number } {
  if (fitsWhole(rt, b)) return { binding: b, base: 0 };
  const start = floorTo(lo, ALIGN);
  return { binding: windowOf(b, start, hi + 1 - start), base: start };
}

/** A buffer to require for a path that needs the whole buffer (copies): ranges are never big. */
export function wholeBuffer(b: Binding, op: string): GpuBuffer {
  if (!(b instanceof GpuBuffer)) throw new Error(`webgpu ${op}: internal error: a window was given where a buffer was expected`);
  return b;
}
