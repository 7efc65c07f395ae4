// Per-kernel timing for `bench default --profile`: wraps every kernel method of a backend instance
// so that each call adds its wall time to a per-method total, and reports what share of a
// workload's time is spent inside kernels (the rest is per-op overhead: tape, shape checks, scope
// tracking, tensor objects, GC between calls). Synchronous backends only (cpu): an async kernel's
// time would be its enqueue time.

import type { Backend } from '../engine/index.js';

/** Methods that are not kernels, or are called from inside kernels (wrap). */
const NOT_KERNELS = new Set(['constructor', 'supportsDType', 'liveCount', 'sync', 'read', 'memoryStats', 'resetPeak', 'wrap', 'onWasm']);

export interface OpProfile {
  /** ms and calls per backend method since start. */
  totals: Map<string, { ms: number; calls: number }>;
  /** Remove the wrappers. */
  stop(): void;
  reset(): void;
}

export function profileBackend(backend: Backend): OpProfile {
  const totals = new Map<string, { ms: number; calls: number }>();
  const target = backend as unknown as Record<string, unknown>;
  const names = new Set<string>();
  for (let p: object | null = Object.getPrototypeOf(backend); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const n of Object.getOwnPropertyNames(p)) if (!NOT_KERNELS.has(n) && typeof target[n] === 'function') names.add(n);
  }
  for (const name of names) {
    const orig = target[name] as (...a: unknown[]) => unknown;
    target[name] = function (this: unknown, ...args: unknown[]) {
      const t = performance.now();
      try {
        return orig.apply(this, args);
      } finally {
        // unary / binary / reduce: one row per op
        const key = typeof args[0] === 'string' ? `${name} ${args[0]}` : name;
        const e = totals.get(key) ?? { ms: 0, calls: 0 };
        e.ms += performance.now() - t;
        e.calls++;
        totals.set(key, e);
      }
    };
  }
  return {
    totals,
    stop: () => {
      for (const name of names) delete target[name];
    },
    reset: () => totals.clear(),
  };
}

/** Lines describing `p` over a workload that took `wallMs` in all. */
export function formatProfile(p: OpProfile, wallMs: number): string[] {
  const rows = [...p.totals.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const inKernels = rows.reduce((s, [, e]) => s + e.ms, 0);
  const calls = rows.reduce((s, [, e]) => s + e.calls, 0);
  const lines = rows.map(([n, e]) => `  ${n.padEnd(22)} ${e.ms.toFixed(1).padStart(9)} ms ${((100 * e.ms) / wallMs).toFixed(1).padStart(5)}%  ${String(e.calls).padStart(7)} calls`);
  lines.push(
    `  kernels ${inKernels.toFixed(1)} ms of ${wallMs.toFixed(1)} ms (${((100 * inKernels) / wallMs).toFixed(1)}%); outside kernels ${(wallMs - inKernels).toFixed(1)} ms ` +
      `(${((100 * (wallMs - inKernels)) / wallMs).toFixed(1)}%, ${(((wallMs - inKernels) * 1000) / Math.max(1, calls)).toFixed(1)} µs per kernel call over ${calls} calls)`,
  );
  return lines;
}
