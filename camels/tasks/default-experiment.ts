// The embedded default experiment (`npx camels-gpu meta-train` with no key=value arguments): CaMeLS
// against uniform, SSM and TF-IDF weighting on the built-in synthetic task, over several seeds, on a
// machine without a GPU. Each seed is a complete run in <run>/seed-<s>/ (camels/tasks/default/
// seed-run.ts); this file runs the seeds, aggregates them (mean ± sd over seeds, paired bootstrap
// intervals over test documents) and writes results.json, results.md and report.html in <run>/.
//
// Honesty rules: seeds fixed; nothing is tuned on the test split (learning rates and the meta-training
// checkpoint are chosen on validation documents); the test documents never reach pre-training, the
// tokenizer or meta-training (TF-IDF's document frequencies do include them, as the reference fits on
// the whole dataset). --resume <run> continues a run: finished seeds and phases are skipped.

import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import * as E from '../../engine/index.js';
import type { DeviceName } from '../../engine/index.js';
import { writeDefaultReport } from '../report/default-report.js';
import { fmt } from '../runs/progress.js';
import { setResumeHint } from '../runs/interrupt.js';
import { RunDir, writeAtomic } from '../runs/run-dir.js';
import { aggregate, formatTable, type DefaultResults } from './default/aggregate.js';
import { runSeedsInWorkers, seedWorkerScript } from './default/parallel-seeds.js';
import { FULL_SCALE, QUICK_SCALE, type DefaultScale } from './default/scale.js';
import { runSeed, type SeedResult } from './default/seed-run.js';

export { FULL_SCALE, QUICK_SCALE, type DefaultScale };

/** Seeds of the no-argument default (and of --quick). */
export const DEFAULT_SEEDS = 3;
export const QUICK_SEEDS = 1;

export interface DefaultExperimentOptions {
  device: DeviceName;
  outputs: string;
  resume?: string | null;
  quick?: boolean;
  /** Run exactly these seeds (default: a resumed run's seeds, else 0..DEFAULT_SEEDS−1, or QUICK_SEEDS with quick). */
  seeds?: number[];
  /** Override parts of the scale (experiments). */
  scale?: Partial<DefaultScale>;
  /**
   * Seeds run side by side on the cpu backend (default: all of them, at most twice the machine's
   * cores: with fewer lanes than seeds a last seed would run alone on one core); 1 = one after another.
   */
  lanes?: number;
  log?: (line: string) => void;
}

export interface DefaultExperimentResult {
  runDir: string;
  results: DefaultResults;
  table: string;
  seconds: number;
  report: string;
}

/** Seeds from the CLI: --seed S runs only S; --seeds N runs 0..N−1; neither: the default count. */
export function seedList(opts: { seed?: number; seeds?: number; quick?: boolean }): number[] {
  if (opts.seed !== undefined && opts.seeds !== undefined) throw new Error('meta-train: give --seed S or --seeds N, not both');
  if (opts.seed !== undefined) {
    if (!Number.isInteger(opts.seed) || opts.seed < 0) throw new Error(`meta-train: --seed must be a non-negative integer, got ${opts.seed}`);
    return [opts.seed];
  }
  const n = opts.seeds ?? (opts.quick ? QUICK_SEEDS : DEFAULT_SEEDS);
  if (!Number.isInteger(n) || n < 1) throw new Error(`meta-train: --seeds must be a positive integer, got ${n}`);
  return Array.from({ length: n }, (_, i) => i);
}

export async function runDefaultExperiment(opts: DefaultExperimentOptions): Promise<DefaultExperimentResult> {
  const scale: DefaultScale = { ...(opts.quick ? QUICK_SCALE : FULL_SCALE), ...opts.scale };
  const log = opts.log ?? ((l: string) => console.log(l));
  const t0 = Date.now();
  const device = opts.device;
  const run = opts.resume ? RunDir.open(opts.resume) : RunDir.create(opts.outputs, 'meta-train', 'synthetic');
  setResumeHint(run.dir, `camels-gpu meta-train --resume ${run.dir}`);
  // A resumed run keeps its seeds unless new ones are given.
  const resumedSeeds = opts.resume && fs.existsSync(run.path('config.json')) ? (JSON.parse(fs.readFileSync(run.path('config.json'), 'utf8')) as { seeds?: number[] }).seeds : undefined;
  const seeds = opts.seeds ?? resumedSeeds ?? seedList({ quick: opts.quick });
  if (!fs.existsSync(run.path('config.json'))) writeAtomic(run.path('config.json'), JSON.stringify({ experiment: 'default', seeds, scale }, null, 2) + '\n');
  log(`camels-gpu default experiment → ${run.dir}`);
  log(`device: ${device === 'cpu' ? 'cpu' : E.getBackend(device).adapterName}; scale: ${opts.quick ? 'quick (test)' : 'full'}; seeds ${seeds.join(', ')}`);
  const lanes = Math.min(opts.lanes ?? 2 * availableParallelism(), seeds.length);
  const script = seedWorkerScript();
  let perSeed: SeedResult[] = [];
  if (device === 'cpu' && lanes > 1 && script) {
    log(`running ${lanes} seeds at a time (worker threads, single-threaded matmul each)`);
    perSeed = await runSeedsInWorkers(script, seeds, lanes, scale, (s) => run.path(`seed-${s}`), log);
    for (const r of perSeed) log(`[seed ${r.seed}] took ${fmt(r.seconds)}`);
  } else {
    for (const seed of seeds) {
      const r = await runSeed({ seed, scale, run: new RunDir(run.path(`seed-${seed}`)), device, log });
      log(`[seed ${seed}] done in ${fmt(r.seconds)}`);
      perSeed.push(r);
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  const results = aggregate(perSeed, { device: device === 'cpu' ? 'cpu' : E.getBackend(device).adapterName, seconds });
  const table = formatTable(results);
  writeAtomic(run.path('results.md'), table + '\n');
  writeAtomic(run.path('results.json'), JSON.stringify(results, null, 2) + '\n');
  const report = writeDefaultReport(run.path('report.html'), { runDir: run.dir, results, seeds: perSeed, table });
  log('');
  log(table);
  log('');
  log(`done in ${fmt(seconds)}; report: ${report}`);
  return { runDir: run.dir, results, table, seconds, report };
}
