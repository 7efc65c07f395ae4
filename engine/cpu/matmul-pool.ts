// Worker threads for the cpu matmul (engine/cpu/matmul.ts): a fork-join over shared memory.
//
// The main thread packs a job's operands into a SharedArrayBuffer arena and publishes the job in a
// small shared control block; the workers and the main thread then claim work units (blocks of
// output rows, or of rows × column panels, of one batch element) one at a time from a shared
// counter until none are left, each running the same kernel function (the worker's copy is built
// from the kernel's own source text). The main thread writes its units straight into the output;
// a worker writes into an output panel in the arena, which the main thread copies out after the
// join. Which thread computes a unit never changes how it is computed, so results are bit-identical
// to the single-threaded path. Claiming dynamically means a worker that is slow to wake (or still
// starting, or descheduled on a busy machine) just leaves more units to the main thread.
//
// Protocol (all through Atomics on the control block):
//  - main: write the job parameters, DONE = 0, AVAIL = 0, NEXT = total (units not yet claimed),
//    SEQ += 1, notify SEQ; then pack the operands, raising AVAIL (units numbered in packing order)
//    as it goes, so that the workers start on the first units while the rest is packed; then claim
//    units itself; then wait (Atomics.wait with a timeout) until DONE = total.
//  - claim: n = NEXT; if n > 0 and compareExchange(NEXT, n, n - 1) succeeds, the claimer owns unit
//    total - n. A job cannot finish before its claimed units are done, so parameters read after a
//    successful claim always belong to the claimed job (the main thread only rewrites them between
//    jobs); no job tags are needed.
//  - worker: s = SEQ; drain arena messages; claim units until NEXT = 0, running each once
//    AVAIL is past it; wait while SEQ = s.
//  - an exception in a worker unit bumps ERR and posts its message back; the unit still counts as
//    done so the join ends, and the main thread throws a clear Error. A worker that stops making
//    progress (no unit finishes within the stall timeout) makes matmul throw instead of hanging.
//    Either way the pool is torn down and the next large matmul starts a fresh one.
//
// Workers start lazily on the first large matmul, are unref()'d (they never keep the process
// alive) and run plain JavaScript given to `new Worker(code, { eval: true })`, so the same code
// works under vitest (TypeScript sources) and from the compiled dist/ files.
//
// Thread count: min(os.availableParallelism(), 4), overridden by env CAMELS_CPU_THREADS (1 turns
// threading off), read on first use; configureMatmulThreads() changes it at run time. Matmuls under
// 2 MFLOP stay on the main thread (a fork-join costs some tens of microseconds).

import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** Control block layout (Int32Array indices). */
const C = {
  SEQ: 0, // bumped once per job (and to nudge workers to read arena messages)
  NEXT: 1, // units not yet claimed
  DONE: 2, // units finished (or failed)
  ERR: 3, // units that threw in a worker
  GEN: 4, // generation of the arena the job lives in
  TOTAL: 5, // units in the job
  M: 6,
  K: 7,
  N: 8,
  UPB: 9, // row blocks per batch element
  CPB: 10, // column blocks per row block
  R: 11, // rows per row block (a multiple of 4)
  CB: 12, // columns per column block (a multiple of the kernel's panel width)
  DESC: 13, // f64 index of the descriptor table: per batch element [packed a, packed b, output panel] offsets
  DTYPE: 14, // 0: float32 output panel, 1: float64
  READY: 15, // workers that have started
  FAULT: 16, // test hook: 1 = throw in every worker unit, 2 = hang in it
  WORKER_UNITS: 17, // units computed by workers since the pool started (stats)
  AVAIL: 18, // units whose operands are packed (units are numbered in packing order)
  SIZE: 19,
} as const;

/** A job as the pool sees it: the unit grid and where its data lies in the arena. */
export interface MatmulJob {
  total: number;
  M: number;
  K: number;
  N: number;
  upb: number;
  cpb: number;
  R: number;
  CB: number;
  descOff: number;
  dtype: 0 | 1;
  /** Multiply-adds per unit at most (sizes the stall timeout). */
  unitFlops: number;
}

export interface MatmulThreadConfig {
  /** Threads in all, main included (1: no workers). */
  threads: number;
  /** Matmuls below this many flops (2·batch·M·N·K) run on the main thread only. */
  minFlops: number;
  /** Arena (packed operands + output panel) kept between calls, in float64 elements. */
  keepArena: number;
  /** A join fails when no unit finishes for this long (plus time proportional to a unit's flops). */
  stallMs: number;
  /** Test hook: false leaves every unit to the workers (the main thread only waits). */
  mainComputes: boolean;
  /** Test hook: make worker units throw or hang. */
  testFault: 'none' | 'throw' | 'hang';
}

/**
 * Threads for the matmul from the value of CAMELS_CPU_THREADS (unset or empty: the machine's
 * available parallelism, at most 4; capped at 64).
 */
export function parseThreadCount(env: string | undefined, parallelism = availableParallelism()): number {
  if (env !== undefined && env.trim() !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`cpu matmul: CAMELS_CPU_THREADS must be a positive integer (1 disables threads), got '${env}'`);
    }
    return Math.min(n, 64);
  }
  return Math.max(1, Math.min(parallelism, 4));
}

let config: MatmulThreadConfig | null = null;

/** Current thread settings (reads CAMELS_CPU_THREADS on first use). */
export function matmulThreadConfig(): Readonly<MatmulThreadConfig> {
  config ??= {
    threads: parseThreadCount(process.env.CAMELS_CPU_THREADS),
    minFlops: 2e6,
    keepArena: 1 << 22,
    stallMs: 10_000,
    mainComputes: true,
    testFault: 'none',
  };
  return config;
}

/**
 * Change thread settings at run time; returns the previous ones (pass them back to restore).
 * Workers of another count are replaced on the next large matmul (threads = 1 leaves them idle;
 * disposePool() stops them).
 */
export function configureMatmulThreads(change: Partial<MatmulThreadConfig>): MatmulThreadConfig {
  const prev = { ...matmulThreadConfig() };
  const next = { ...prev, ...change };
  if (!Number.isInteger(next.threads) || next.threads < 1) {
    throw new Error(`cpu matmul: threads must be a positive integer, got ${next.threads}`);
  }
  config = next;
  return prev;
}

/**
 * Plain JavaScript run by each worker; `kernelSource` is the kernel function's source text, which
 * may refer to the constants NB (panel width, `nbMax` here) and accBlock (its float64 [4, NB]
 * accumulator block).
 */
function workerSource(kernelSource: string): string {
  return `'use strict';
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { ctrl, port, nbMax } = workerData;
const NB = nbMax;
const accBlock = new Float64Array(4 * NB);
${kernelSource}
const C = ${JSON.stringify(C)};
let gen = -1;
let f64 = null;
let f32 = null;
function drain() {
  for (;;) {
    const m = receiveMessageOnPort(port);
    if (m === undefined) return;
    gen = m.message.gen;
    const buf = m.message.buffer;
    f64 = buf === null ? null : new Float64Array(buf);
    f32 = buf === null ? null : new Float32Array(buf);
  }
}
function runUnit(u) {
  const want = Atomics.load(ctrl, C.GEN);
  if (gen !== want) {
    // the arena message is posted before the job is published; wait briefly if it is not visible yet
    const t0 = Date.now();
    const idle = new Int32Array(new SharedArrayBuffer(4));
    for (drain(); gen !== want; drain()) {
      if (Date.now() - t0 > 5000) throw new Error('cpu matmul worker: arena generation ' + want + ' never arrived (have ' + gen + ')');
      Atomics.wait(idle, 0, 0, 1);
    }
  }
  // the main thread packs while the workers start: wait until this unit's operands are in place
  for (let v = Atomics.load(ctrl, C.AVAIL); v <= u; v = Atomics.load(ctrl, C.AVAIL)) Atomics.wait(ctrl, C.AVAIL, v, 100);
  const fault = Atomics.load(ctrl, C.FAULT);
  if (fault === 1) throw new Error('injected worker fault (test hook)');
  if (fault === 2) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  const M = ctrl[C.M], K = ctrl[C.K], N = ctrl[C.N];
  const upb = ctrl[C.UPB], cpb = ctrl[C.CPB], R = ctrl[C.R], CB = ctrl[C.CB];
  const per = upb * cpb;
  const b = (u / per) | 0;
  const rem = u - b * per;
  const rb = (rem / cpb) | 0;
  const cb = rem - rb * cpb;
  const i0 = rb * R;
  const j0 = cb * CB;
  const d = ctrl[C.DESC] + 3 * b;
  const out = ctrl[C.DTYPE] === 1 ? f64 : f32;
  // offsets as integers: doubles as indices would slow the kernel down
  kernel(f64, f64[d] | 0, f64, f64[d + 1] | 0, out, f64[d + 2] | 0, i0, Math.min(M, i0 + R), j0, Math.min(N, j0 + CB), K, N);
}
Atomics.add(ctrl, C.READY, 1);
Atomics.notify(ctrl, C.READY);
for (;;) {
  const s = Atomics.load(ctrl, C.SEQ);
  drain();
  for (;;) {
    const n = Atomics.load(ctrl, C.NEXT);
    if (n <= 0) break;
    if (Atomics.compareExchange(ctrl, C.NEXT, n, n - 1) !== n) continue;
    const total = Atomics.load(ctrl, C.TOTAL);
    try {
      runUnit(total - n);
      Atomics.add(ctrl, C.WORKER_UNITS, 1);
    } catch (e) {
      port.postMessage(String((e && e.stack) || e));
      Atomics.add(ctrl, C.ERR, 1);
    }
    if (Atomics.add(ctrl, C.DONE, 1) + 1 === total) Atomics.notify(ctrl, C.DONE);
  }
  Atomics.wait(ctrl, C.SEQ, s);
}
`;
}

export class MatmulPool {
  readonly ctrl = new Int32Array(new SharedArrayBuffer(C.SIZE * 4));
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private failure: string | null = null;
  private disposed = false;
  private gen = 0;
  /** The arena kept between calls, and the one the current job uses (a bigger one-off or `kept`). */
  private kept: SharedArrayBuffer | null = null;
  private current: SharedArrayBuffer | null = null;
  f64: Float64Array = new Float64Array(0);
  f32: Float32Array = new Float32Array(0);
  jobs = 0;
  mainUnits = 0;

  constructor(
    readonly workerCount: number,
    kernelSource: string,
    nbMax: number,
  ) {
    const code = workerSource(kernelSource);
    for (let w = 0; w < workerCount; w++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(code, {
        eval: true,
        workerData: { ctrl: this.ctrl, port: port2, nbMax },
        transferList: [port2],
        execArgv: [],
        stdout: false,
        stderr: false,
      });
      worker.unref();
      port1.unref();
      worker.on('error', (e) => {
        this.failure ??= `worker ${w} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
      });
      worker.on('exit', (code) => {
        if (!this.disposed) this.failure ??= `worker ${w} exited unexpectedly with code ${code}`;
      });
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /** Workers that have started running. */
  get ready(): number {
    return Atomics.load(this.ctrl, C.READY);
  }

  get workerUnits(): number {
    return Atomics.load(this.ctrl, C.WORKER_UNITS);
  }

  /** Block up to `timeoutMs` until every worker has started; returns how many have. */
  waitReady(timeoutMs: number): number {
    const end = Date.now() + timeoutMs;
    for (let r = this.ready; r < this.workerCount; r = this.ready) {
      const left = end - Date.now();
      if (left <= 0 || this.failure !== null) return r;
      Atomics.wait(this.ctrl, C.READY, r, Math.min(left, 50));
    }
    return this.workerCount;
  }

  private publish(buffer: SharedArrayBuffer | null): void {
    this.gen++;
    for (const p of this.ports) p.postMessage({ gen: this.gen, buffer });
    Atomics.store(this.ctrl, C.GEN, this.gen);
  }

  /** An arena of at least `n` float64 elements for the next job (its views in f64 / f32). */
  arena(n: number, keepMax: number): void {
    if (this.current !== null && this.current.byteLength >= n * 8) return;
    let buf: SharedArrayBuffer;
    if (n <= keepMax) {
      const old = this.kept === null ? 0 : this.kept.byteLength / 8;
      if (old >= n) buf = this.kept as SharedArrayBuffer;
      else buf = this.kept = new SharedArrayBuffer(Math.min(keepMax, Math.max(n, 2 * old)) * 8);
    } else {
      buf = new SharedArrayBuffer(n * 8); // one-off, released after the job
    }
    this.current = buf;
    this.f64 = new Float64Array(buf);
    this.f32 = new Float32Array(buf);
    this.publish(buf);
  }

  /** After a job in a one-off arena: drop it here and in the workers (they are nudged to read the message). */
  releaseOneOff(): void {
    if (this.current === null || this.current === this.kept) return;
    this.current = this.kept;
    this.f64 = this.kept === null ? new Float64Array(0) : new Float64Array(this.kept);
    this.f32 = this.kept === null ? new Float32Array(0) : new Float32Array(this.kept);
    this.publish(this.kept);
    Atomics.add(this.ctrl, C.SEQ, 1);
    Atomics.notify(this.ctrl, C.SEQ);
  }

  private fail(what: string): never {
    const msgs: string[] = [];
    for (const p of this.ports) {
      for (let m = receiveMessageOnPort(p); m !== undefined; m = receiveMessageOnPort(p)) {
        if (typeof m.message === 'string') msgs.push(m.message);
      }
    }
    disposePool(this);
    throw new Error(
      `cpu matmul: ${what}${msgs.length > 0 ? `: ${msgs[0]}` : ''} (worker threads stopped; ` +
        'set CAMELS_CPU_THREADS=1 to run matmul on the main thread only)',
    );
  }

  /**
   * Run `job`: publish it, let `prepare` fill the arena (it calls `avail(n)` once units 0 .. n-1 may
   * run), compute units with `mainUnit` while any are unclaimed (unless the config says otherwise),
   * wait for the workers' units. Returns, per unit, 1 where the main thread ran it.
   */
  run(
    job: MatmulJob,
    prepare: (avail: (units: number) => void) => void,
    mainUnit: (u: number) => void,
    cfg: Readonly<MatmulThreadConfig>,
  ): Uint8Array {
    if (this.failure !== null) this.fail(this.failure);
    const c = this.ctrl;
    const { total } = job;
    c[C.M] = job.M;
    c[C.K] = job.K;
    c[C.N] = job.N;
    c[C.UPB] = job.upb;
    c[C.CPB] = job.cpb;
    c[C.R] = job.R;
    c[C.CB] = job.CB;
    c[C.DESC] = job.descOff;
    c[C.DTYPE] = job.dtype;
    c[C.FAULT] = cfg.testFault === 'throw' ? 1 : cfg.testFault === 'hang' ? 2 : 0;
    Atomics.store(c, C.ERR, 0);
    Atomics.store(c, C.DONE, 0);
    Atomics.store(c, C.AVAIL, 0);
    Atomics.store(c, C.TOTAL, total);
    Atomics.store(c, C.NEXT, total);
    Atomics.add(c, C.SEQ, 1);
    Atomics.notify(c, C.SEQ);
    this.jobs++;
    const mine = new Uint8Array(total);
    let mainError: unknown = null;
    try {
      prepare((units) => {
        Atomics.store(c, C.AVAIL, units);
        Atomics.notify(c, C.AVAIL);
      });
    } catch (e) {
      mainError = e;
    }
    // after a failed prepare, waiting workers run on whatever is in the arena; their output is dropped
    Atomics.store(c, C.AVAIL, total);
    Atomics.notify(c, C.AVAIL);
    if (cfg.mainComputes && mainError === null) {
      for (;;) {
        const n = Atomics.load(c, C.NEXT);
        if (n <= 0) break;
        if (Atomics.compareExchange(c, C.NEXT, n, n - 1) !== n) continue;
        const u = total - n;
        try {
          mainUnit(u);
          mine[u] = 1;
          this.mainUnits++;
        } catch (e) {
          mainError = e;
          break;
        } finally {
          Atomics.add(c, C.DONE, 1);
        }
      }
    }
    // units claimed so far must finish before the arena or the control block may be reused
    const claimed = mainError === null ? total : total - Math.max(0, Atomics.exchange(c, C.NEXT, 0));
    const stallMs = cfg.stallMs + job.unitFlops / 1e5;
    let last = Atomics.load(c, C.DONE);
    let since = Date.now();
    while (last < claimed) {
      if (this.failure !== null) this.fail(this.failure);
      Atomics.wait(c, C.DONE, last, Math.min(stallMs, 100));
      const now = Atomics.load(c, C.DONE);
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since > stallMs) {
        this.fail(`no worker unit finished for ${Math.round(Date.now() - since)} ms (a worker hung or died)`);
      }
    }
    if (mainError !== null) throw mainError;
    if (Atomics.load(c, C.ERR) > 0) this.fail(`${Atomics.load(c, C.ERR)} work unit(s) failed in a worker thread`);
    return mine;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of this.workers) void w.terminate();
    for (const p of this.ports) p.close();
  }
}

/** Pools live on globalThis, keyed by worker source, so that re-imported module copies share one. */
const REGISTRY = Symbol.for('camels-gpu.cpuMatmulPools');
type Registry = Map<string, MatmulPool>;
function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  return (g[REGISTRY] ??= new Map());
}

/** The pool for this kernel (started on first use), or null when threads are off. */
export function matmulPool(kernelSource: string, nbMax: number): MatmulPool | null {
  const cfg = matmulThreadConfig();
  if (cfg.threads <= 1) return null;
  const key = `${nbMax}\n${kernelSource}`;
  const reg = registry();
  let pool = reg.get(key);
  if (pool !== undefined && pool.workerCount !== cfg.threads - 1) {
    pool.dispose();
    reg.delete(key);
    pool = undefined;
  }
  if (pool === undefined) {
    pool = new MatmulPool(cfg.threads - 1, kernelSource, nbMax);
    reg.set(key, pool);
  }
  return pool;
}

/** Stop the given pool (or all pools); new workers start on the next large matmul. */
export function disposePool(which?: MatmulPool): void {
  const reg = registry();
  for (const [key, pool] of reg) {
    if (which !== undefined && pool !== which) continue;
    pool.dispose();
    reg.delete(key);
  }
}

/** Counters for tests and benchmarks (all pools of this process together). */
export function matmulThreadStats(): { threads: number; workersReady: number; jobs: number; workerUnits: number; mainUnits: number } {
  let workersReady = 0;
  let jobs = 0;
  let workerUnits = 0;
  let mainUnits = 0;
  for (const p of registry().values()) {
    workersReady += p.ready;
    jobs += p.jobs;
    workerUnits += p.workerUnits;
    mainUnits += p.mainUnits;
  }
  return { threads: matmulThreadConfig().threads, workersReady, jobs, workerUnits, mainUnits };
}
