// Device-independent step counters for `bench model --json`: backend kernel invocations (before any
// window splitting, by op), host→device upload bytes and readbacks on every backend, and on webgpu
// the dispatches, bind groups created and the peak live / held device memory.
//
// Kernels are counted by wrapping the backend's kernel methods on the instance (every backend, no
// cooperation needed from it); the op table (engine/op-table) classifies every Backend method
// (`counted`: kernel, upload, readback or other) and has a row for each at compile time, so a new
// method cannot be left uncounted by accident.

import type { Backend, TypedArray } from '../engine/index.js';
import { OP_TABLE } from '../engine/op-table/index.js';

export interface StepCounts {
  /** Backend kernel invocations (one per op call, before window splitting). */
  kernels: number;
  /** Kernel invocations by backend method (binary ops by their op name: `binary:add`). */
  kernel_ops: Record<string, number>;
  /** Host → device bytes through fromArray (tensors made from host data inside the step). */
  upload_bytes: number;
  readbacks: number;
  /** webgpu only: compute dispatches recorded, bind groups created, queue submits. */
  dispatches?: number;
  bind_groups_created?: number;
  submits?: number;
  /** webgpu only: peak bytes in use by live tensors, and held by the allocator (pooled included). */
  peak_live_bytes?: number;
  peak_held_bytes?: number;
}

interface RuntimeStats {
  stats: { dispatches: number; submits: number; bindGroups: number };
}

/** Counts what a backend does between `reset()` and `read()`. `detach()` restores its methods. */
export class StepCounter {
  private kernels = 0;
  private ops = new Map<string, number>();
  private uploadBytes = 0;
  private readbacks = 0;
  private base = { dispatches: 0, submits: 0, bindGroups: 0 };
  private readonly restore: Array<() => void> = [];

  constructor(private readonly backend: Backend) {
    const target = backend as unknown as Record<string, unknown>;
    for (const [name, { counted: kind }] of Object.entries(OP_TABLE)) {
      if (kind === 'other') continue;
      const original = target[name];
      if (typeof original !== 'function') continue;
      const fn = original as (...args: unknown[]) => unknown;
      const own = Object.prototype.hasOwnProperty.call(target, name);
      target[name] = (...args: unknown[]): unknown => {
        if (kind === 'kernel') {
          this.kernels++;
          const key = name === 'unary' || name === 'binary' || name === 'reduce' ? `${name}:${String(args[0])}` : name;
          this.ops.set(key, (this.ops.get(key) ?? 0) + 1);
        } else if (kind === 'upload') {
          const data = args[0] as TypedArray;
          this.uploadBytes += data.length * (args[1] === 'float64' ? 8 : 4);
        } else this.readbacks++;
        return fn.apply(backend, args);
      };
      this.restore.push(() => {
        if (own) target[name] = original;
        else delete target[name];
      });
    }
  }

  private runtime(): RuntimeStats | null {
    const rt = (this.backend as Backend & { rt?: RuntimeStats }).rt;
    return rt && rt.stats ? rt : null;
  }

  /** Start a step: zero the counts, reset the memory peaks. */
  reset(): void {
    this.kernels = 0;
    this.ops = new Map();
    this.uploadBytes = 0;
    this.readbacks = 0;
    const rt = this.runtime();
    if (rt) this.base = { dispatches: rt.stats.dispatches, submits: rt.stats.submits, bindGroups: rt.stats.bindGroups };
    this.backend.resetPeak?.();
  }

  /** The counts since `reset()` (call after the step's work has been synced). */
  read(): StepCounts {
    const out: StepCounts = {
      kernels: this.kernels,
      kernel_ops: Object.fromEntries([...this.ops.entries()].sort((a, b) => b[1] - a[1])),
      upload_bytes: this.uploadBytes,
      readbacks: this.readbacks,
    };
    const rt = this.runtime();
    if (rt) {
      out.dispatches = rt.stats.dispatches - this.base.dispatches;
      out.bind_groups_created = rt.stats.bindGroups - this.base.bindGroups;
      out.submits = rt.stats.submits - this.base.submits;
    }
    const mem = this.backend.memoryStats?.();
    if (mem) {
      out.peak_live_bytes = mem.peakLiveBytes;
      out.peak_held_bytes = mem.peakBytes;
    }
    return out;
  }

  detach(): void {
    for (const r of this.restore.splice(0)) r();
  }
}
