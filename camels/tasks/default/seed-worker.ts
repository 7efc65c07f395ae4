// A worker thread that runs one seed of the embedded default (camels/tasks/default/seed-run.ts) and
// posts its result back: on a multi-core machine without a GPU, seeds run side by side (see
// parallel-seeds.ts). Log lines go back as messages so the parent prints them in one stream.

import { parentPort, workerData } from 'node:worker_threads';
import { RunDir } from '../../runs/run-dir.js';
import type { DefaultScale } from './scale.js';
import { runSeed } from './seed-run.js';

export interface SeedWorkerData {
  seed: number;
  scale: DefaultScale;
  runDir: string;
}

export type SeedWorkerMessage = { kind: 'log'; line: string } | { kind: 'done'; result: unknown } | { kind: 'error'; message: string; stack?: string };

const data = workerData as SeedWorkerData;
const post = (m: SeedWorkerMessage) => parentPort!.postMessage(m);
runSeed({ seed: data.seed, scale: data.scale, run: new RunDir(data.runDir), device: 'cpu', log: (line) => post({ kind: 'log', line }) })
  .then((result) => post({ kind: 'done', result }))
  .catch((e: unknown) => post({ kind: 'error', message: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined }));
