// Timing helpers for benchmarks: warm-up, repeated timed runs ending in one device sync, median.

import type { Backend } from '../engine/index.js';

export async function timeMedian(backend: Backend, fn: () => void | Promise<void>, opts: { warmup?: number; repeat?: number; inner?: number } = {}): Promise<number> {
  const warmup = opts.warmup ?? 1;
  const repeat = opts.repeat ?? 5;
  const inner = opts.inner ?? 1;
  for (let i = 0; i < warmup; i++) await fn();
  await backend.sync();
  const times: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const t = performance.now();
    for (let i = 0; i < inner; i++) await fn();
    await backend.sync();
    times.push((performance.now() - t) / inner);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export interface BenchRecord {
  op: string;
  shape: number[];
  backend: string;
  adapter: string;
  ms: number;
  gflops?: number;
  gbps?: number;
  [k: string]: unknown;
}

export function printRecord(r: BenchRecord, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(r));
    return;
  }
  const rate = r.gflops !== undefined ? `${r.gflops.toFixed(2)} GFLOP/s` : r.gbps !== undefined ? `${r.gbps.toFixed(2)} GB/s` : '';
  const extra = Object.entries(r)
    // (objects such as the counters' per-op table are in the --json output only)
    .filter(([k, v]) => !['op', 'shape', 'backend', 'adapter', 'ms', 'gflops', 'gbps'].includes(k) && (typeof v !== 'object' || Array.isArray(v)))
    .map(([k, v]) => `${k}=${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(3)) : Array.isArray(v) ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  console.log(`${r.op.padEnd(22)} ${JSON.stringify(r.shape).padEnd(22)} ${r.backend.padEnd(7)} ${r.ms.toFixed(3).padStart(10)} ms  ${rate.padStart(18)}  ${extra}`);
}
