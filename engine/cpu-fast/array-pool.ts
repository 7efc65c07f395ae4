// Recycling of float32 storage arrays for the fast cpu path: a freed storage's Float32Array goes
// into a free list by length and the next allocation of that length takes it (zero-filled, as a
// fresh array would be). It saves the allocator's page faults and the GC pressure of the many
// same-shaped intermediates of a training step. Only whole arrays of at least MIN_LENGTH elements
// are kept, at most MAX_BYTES in all (oldest lengths are not tracked: a full pool just drops).
//
// Installed into engine/cpu/storage.ts (setFloat32Recycler) by FastCpuBackend; freeing goes
// through CpuStorage.free, which runs only once per storage, so an array is never handed out twice.

import type { Float32Recycler } from '../cpu/storage.js';

const MIN_LENGTH = 1024;
const MAX_BYTES = 256 * 2 ** 20;

export class Float32ArrayPool implements Float32Recycler {
  private readonly free = new Map<number, Float32Array[]>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  take(length: number): Float32Array | null {
    if (length < MIN_LENGTH) return null;
    const list = this.free.get(length);
    const a = list?.pop();
    if (!a) {
      this.misses++;
      return null;
    }
    this.hits++;
    this.bytes -= a.byteLength;
    a.fill(0);
    return a;
  }

  give(a: Float32Array): void {
    if (a.length < MIN_LENGTH || a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength) return;
    if (a.buffer instanceof SharedArrayBuffer) return;
    if (this.bytes + a.byteLength > MAX_BYTES) return;
    let list = this.free.get(a.length);
    if (!list) {
      list = [];
      this.free.set(a.length, list);
    }
    list.push(a);
    this.bytes += a.byteLength;
  }

  /** Bytes held in free lists. */
  pooledBytes(): number {
    return this.bytes;
  }

  clear(): void {
    this.free.clear();
    this.bytes = 0;
  }
}
