// Device buffer pool keyed by size class.
//
// Sizes are rounded up to a class (four classes per power of two, at least 256 bytes) and freed
// buffers go back to their class's free list for reuse. `take` always hands out the free buffer
// with the lowest id of its class (each list is kept sorted, lowest id last), so the buffers a step
// receives depend only on which buffers are free, not on the order earlier steps freed them: a warm
// step that frees all it takes gets the same buffers as the step before, and the runtime's bind
// groups (cached by buffer ids) are all hits. Reusing a buffer inside the same
// unsubmitted command encoder is safe (dispatches in a pass are ordered), but queue.writeBuffer
// runs before the pending encoder, so a buffer used by pending commands must never be written that
// way: each buffer remembers the batch (encoder) that last used it and `takeWritable` skips those.

export class GpuBuffer {
  /** Id of the last batch (command encoder) whose commands use this buffer; -1 = none. */
  lastUse = -1;
  constructor(
    readonly buffer: GPUBuffer,
    /** Allocated bytes (the size class). */
    readonly bytes: number,
    readonly id: number,
    /** The pool it returns to. */
    readonly pool: BufferPool,
  ) {}
}

const MIN_BYTES = 256;
let nextBufferId = 1;

/** Round a byte count up to its size class (at most `cap` unless the request itself is larger). */
export function sizeClass(bytes: number, cap: number): number {
  if (bytes <= MIN_BYTES) return MIN_BYTES;
  const k = Math.ceil(Math.log2(bytes));
  const step = Math.max(MIN_BYTES, 2 ** (k - 3)); // four classes per doubling
  let c = Math.ceil(bytes / step) * step;
  if (c > cap) c = Math.ceil(bytes / MIN_BYTES) * MIN_BYTES;
  return c;
}

export class BufferPool {
  private readonly free = new Map<number, GpuBuffer[]>();
  /** Bytes held by all buffers this pool created and has not destroyed. */
  allocatedBytes = 0;
  /** Bytes sitting in free lists. */
  pooledBytes = 0;
  /** Highest allocatedBytes seen since the last resetPeak (device memory held by the pool). */
  peakBytes = 0;
  /** Highest bytes in use by live (not pooled) buffers since the last resetPeak. */
  peakLiveBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly cap: number,
  ) {}

  private create(bytes: number, mapped: boolean): GpuBuffer {
    const buffer = this.device.createBuffer({ size: bytes, usage: this.usage, mappedAtCreation: mapped });
    this.allocatedBytes += bytes;
    if (this.allocatedBytes > this.peakBytes) this.peakBytes = this.allocatedBytes;
    this.noteLive();
    return new GpuBuffer(buffer, bytes, nextBufferId++, this);
  }

  /** A buffer of at least `bytes` bytes, reused when possible. */
  take(bytes: number): GpuBuffer {
    const c = sizeClass(bytes, this.cap);
    const list = this.free.get(c);
    const b = list?.pop();
    if (b) {
      this.pooledBytes -= b.bytes;
      this.noteLive();
      return b;
    }
    return this.create(c, false);
  }

  /**
   * A buffer that pending commands (batch `pendingBatch`) do not use, so queue.writeBuffer into it is
   * ordered correctly; null when the class has none (the caller then uses `createMapped`).
   */
  takeWritable(bytes: number, pendingBatch: number): GpuBuffer | null {
    const c = sizeClass(bytes, this.cap);
    const list = this.free.get(c);
    if (!list) return null;
    for (let i = list.length - 1; i >= 0; i--) {
      const b = list[i]!;
      if (b.lastUse !== pendingBatch) {
        list.splice(i, 1);
        this.pooledBytes -= b.bytes;
        this.noteLive();
        return b;
      }
    }
    return null;
  }

  private noteLive(): void {
    const live = this.allocatedBytes - this.pooledBytes;
    if (live > this.peakLiveBytes) this.peakLiveBytes = live;
  }

  /**
   * A new buffer that never came from a free list, for buffers kept as long as the runtime (kernel
   * scratch): taking those from a free list the first time a step runs would leave the next step one
   * buffer short in that class, so it would get new buffers — and new bind groups — once more.
   */
  createKept(bytes: number): GpuBuffer {
    return this.create(sizeClass(bytes, this.cap), false);
  }

  /** A new buffer created mapped (for uploads); the caller fills and unmaps it. */
  createMapped(bytes: number): GpuBuffer {
    return this.create(sizeClass(bytes, this.cap), true);
  }

  give(b: GpuBuffer): void {
    let list = this.free.get(b.bytes);
    if (!list) {
      list = [];
      this.free.set(b.bytes, list);
    }
    // Sorted by descending id: binary search for the insertion point (pop() yields the lowest id).
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.id > b.id) lo = mid + 1;
      else hi = mid;
    }
    if (lo === list.length) list.push(b);
    else list.splice(lo, 0, b);
    this.pooledBytes += b.bytes;
  }

  /** Destroy every pooled (free) buffer. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        b.buffer.destroy();
        this.allocatedBytes -= b.bytes;
      }
    }
    this.free.clear();
    this.pooledBytes = 0;
  }
}
