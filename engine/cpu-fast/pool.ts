// The fast path's worker pool: threads that share the WebAssembly memory and run matmul units.
//
// Started once (lazily, on the first job big enough to split) with threads − 1 workers; each
// instantiates the same compiled module on the shared memory and runs `runMatmulUnit` from its
// source text. The workers are unref()'d: they never keep the process alive.
//
// Fork-join protocol (Atomics on the control block, matmul-unit.ts CTRL):
//  - main: write the job parameters, DONE = 0, then NEXT = 0 (opening the job), SEQ += 1 and
//    notify; claim units itself (Atomics.add on NEXT) until they run out; wait until DONE = TOTAL;
//    then NEXT = 2^30, so that a late claim from a worker never lands in a later job.
//  - worker: remember SEQ; claim and run units until NEXT ≥ TOTAL; wait while SEQ is unchanged.
//  - a unit that throws in a worker counts as done and bumps ERR (the message is posted back); the
//    main thread then throws. A join with no progress for STALL_MS throws instead of hanging.
// Which thread runs a unit never changes what it computes, so results do not depend on the
// thread count. Threads: CAMELS_CPU_THREADS (1: main thread only), else min(cores, 4).

import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { CTRL, runMatmulUnit } from './matmul-unit.js';
import type { WasmHeap } from './wasm-heap.js';

const CLOSED = 1 << 30;
const STALL_MS = 20_000;

/** Threads from CAMELS_CPU_THREADS (unset or empty: the available parallelism, at most 4). */
export function parseThreadCount(env: string | undefined, parallelism = availableParallelism()): number {
  if (env !== undefined && env.trim() !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`cpu-fast: CAMELS_CPU_THREADS must be a positive integer, got '${env}'`);
    return Math.min(n, 64);
  }
  return Math.max(1, Math.min(parallelism, 4));
}

let threads: number | null = null;

/** Threads in all, main included (read from the environment once; process.env is slow per op). */
export function threadCount(): number {
  threads ??= parseThreadCount(process.env.CAMELS_CPU_THREADS);
  return threads;
}

/** Change the thread count at run time (tests); returns the previous one. */
export function setThreadCount(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`cpu-fast: thread count must be a positive integer, got ${n}`);
  const prev = threadCount();
  threads = n;
  return prev;
}

function workerSource(): string {
  return `'use strict';
const { workerData } = require('node:worker_threads');
const { memory, module, tid, port, controlInts } = workerData;
const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctrl = new Int32Array(memory.buffer, 0, controlInts);
const C = ${JSON.stringify(CTRL)};
const runMatmulUnit = ${runMatmulUnit.toString()};
Atomics.add(ctrl, C.READY, 1);
for (;;) {
  const s = Atomics.load(ctrl, C.SEQ);
  if (Atomics.load(ctrl, C.STOP) !== 0) break;
  for (;;) {
    const u = Atomics.add(ctrl, C.NEXT, 1);
    const total = Atomics.load(ctrl, C.TOTAL);
    if (u >= total) break;
    try {
      runMatmulUnit(ex, ctrl, C, u, tid);
      Atomics.add(ctrl, C.WORKER_UNITS, 1);
    } catch (e) {
      Atomics.add(ctrl, C.ERR, 1);
      port.postMessage(String(e && e.stack || e));
    }
    if (Atomics.add(ctrl, C.DONE, 1) + 1 === total) Atomics.notify(ctrl, C.DONE);
  }
  Atomics.wait(ctrl, C.SEQ, s);
}
`;
}

export class MatmulPool {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  disposed = false;

  constructor(
    private readonly heap: WasmHeap,
    readonly threads: number,
  ) {
    const ctrl = heap.ctrl;
    Atomics.store(ctrl, CTRL.NEXT, CLOSED);
    for (let tid = 1; tid < threads; tid++) {
      const { port1, port2 } = new MessageChannel();
      const workerData = { memory: heap.memory, module: heap.module, tid, port: port2, controlInts: ctrl.length };
      const w = new Worker(workerSource(), { eval: true, workerData, transferList: [port2] });
      w.unref();
      port1.unref();
      this.workers.push(w);
      this.ports.push(port1);
    }
  }

  /** Run units [0, total) of the job whose parameters are in the control block. */
  run(total: number): void {
    const { ctrl, ex } = this.heap;
    Atomics.store(ctrl, CTRL.TOTAL, total);
    Atomics.store(ctrl, CTRL.DONE, 0);
    Atomics.store(ctrl, CTRL.ERR, 0);
    Atomics.store(ctrl, CTRL.NEXT, 0);
    if (this.workers.length > 0) {
      Atomics.add(ctrl, CTRL.SEQ, 1);
      Atomics.notify(ctrl, CTRL.SEQ);
    }
    let mainError: unknown = null;
    for (;;) {
      const u = Atomics.add(ctrl, CTRL.NEXT, 1);
      if (u >= total) break;
      try {
        runMatmulUnit(ex, ctrl, CTRL, u, 0);
      } catch (e) {
        mainError ??= e;
      }
      Atomics.add(ctrl, CTRL.DONE, 1);
    }
    let last = Date.now();
    let seen = Atomics.load(ctrl, CTRL.DONE);
    while (seen < total) {
      Atomics.wait(ctrl, CTRL.DONE, seen, 100);
      const now = Atomics.load(ctrl, CTRL.DONE);
      if (now !== seen) {
        seen = now;
        last = Date.now();
      } else if (Date.now() - last > STALL_MS) {
        Atomics.store(ctrl, CTRL.NEXT, CLOSED);
        this.dispose();
        throw new Error(`cpu-fast matmul: worker threads made no progress for ${STALL_MS / 1000} s (${seen}/${total} units done)`);
      }
    }
    Atomics.store(ctrl, CTRL.NEXT, CLOSED);
    if (mainError) throw mainError;
    if (Atomics.load(ctrl, CTRL.ERR) !== 0) {
      const msgs: string[] = [];
      for (const p of this.ports) for (let m = receiveMessageOnPort(p); m; m = receiveMessageOnPort(p)) msgs.push(String(m.message));
      throw new Error(`cpu-fast matmul: a worker unit failed: ${msgs[0] ?? '(no message)'}`);
    }
  }

  dispose(): void {
    this.disposed = true;
    Atomics.store(this.heap.ctrl, CTRL.STOP, 1);
    Atomics.add(this.heap.ctrl, CTRL.SEQ, 1);
    Atomics.notify(this.heap.ctrl, CTRL.SEQ);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

let pool: MatmulPool | null = null;

/** The pool for `heap` (started on first use with threadCount() threads). */
export function matmulPool(heap: WasmHeap): MatmulPool {
  const n = threadCount();
  if (pool && (pool.threads !== n || pool.disposed)) {
    pool.dispose();
    pool = null;
  }
  if (!pool) {
    Atomics.store(heap.ctrl, CTRL.STOP, 0);
    pool = new MatmulPool(heap, n);
  }
  return pool;
}

/** Units computed by worker threads since the heap was created (tests check the workers ran). */
export function workerUnitsDone(heap: WasmHeap): number {
  return Atomics.load(heap.ctrl, CTRL.WORKER_UNITS);
}
