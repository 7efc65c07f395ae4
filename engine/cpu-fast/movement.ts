// Fast float32 strided copies (copy, copyInto) through copy-wasm.ts: the views are coalesced as
// the reference does (engine/cpu/movement.ts) and, when at most four dims remain, the whole copy
// runs in WebAssembly on resident arrays. Values are moved bit-exactly, so results are identical.

import type { Storage, View } from '../backend.js';
import { dataOf } from '../cpu/storage.js';
import { checkView, coalesceViews, contiguousStrides, numel } from '../cpu/strided.js';
import { allocScratch, finishOut, f32View, heapAddr, kernelOut, resetScratch, stageIn, type WasmHeap } from './wasm-heap.js';

/** Write the descriptor (shape, byte strides of dst and src, padded to four dims); null above four. */
function descriptor(h: WasmHeap, shape: number[], sd: number[], ss: number[]): number | null {
  const r = shape.length;
  if (r > 4) return null;
  const at = allocScratch(h, 48);
  const d = new Int32Array(f32View(h).buffer, at, 12);
  for (let k = 0; k < 4; k++) {
    const i = k - (4 - r);
    d[k] = i >= 0 ? shape[i]! : 1;
    d[4 + k] = i >= 0 ? 4 * sd[i]! : 0;
    d[8 + k] = i >= 0 ? 4 * ss[i]! : 0;
  }
  return at;
}

/** A contiguous copy of src's view over `shape`, or null (more than four dims after coalescing). */
export function fastCopy(h: WasmHeap, src: Storage, sv: View, shape: number[]): Float32Array | null {
  const S = dataOf(src, 'copy') as Float32Array;
  checkView(sv, shape, src.size, 'copy', 'src');
  const n = numel(shape);
  const c = coalesceViews(shape, [contiguousStrides(shape), sv.strides]);
  if (c.shape.length > 4) return null;
  resetScratch();
  const sAddr = stageIn(h, S);
  const o = kernelOut(h, n);
  const desc = descriptor(h, c.shape, c.strides[0]!, c.strides[1]!)!;
  h.copy.copyStrided(o.addr, sAddr + 4 * sv.offset, desc);
  return finishOut(h, o);
}

/** copyInto when dst is resident and is not src (else false: the caller runs the reference). */
export function fastCopyInto(h: WasmHeap, dst: Storage, dv: View, src: Storage, sv: View, shape: number[]): boolean {
  const D = dataOf(dst, 'copyInto') as Float32Array;
  const S = dataOf(src, 'copyInto') as Float32Array;
  const dAddr = heapAddr(D);
  if (dAddr < 0 || D === S) return false; // distinct storages never overlap
  checkView(dv, shape, dst.size, 'copyInto', 'dst');
  checkView(sv, shape, src.size, 'copyInto', 'src');
  if (numel(shape) === 0) return true;
  const c = coalesceViews(shape, [dv.strides, sv.strides]);
  if (c.shape.length > 4) return false;
  resetScratch();
  const sAddr = stageIn(h, S);
  const desc = descriptor(h, c.shape, c.strides[0]!, c.strides[1]!)!;
  h.copy.copyStrided(dAddr + 4 * dv.offset, sAddr + 4 * sv.offset, desc);
  return true;
}
