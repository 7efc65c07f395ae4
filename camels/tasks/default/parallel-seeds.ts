// Running the default's seeds side by side on the cpu backend: a pool of worker threads (one seed
// each, at most `lanes` at a time), each with a single-threaded matmul (CAMELS_CPU_THREADS=1), so two
// seeds use two cores fully instead of one seed using them in bursts. Results come back in seed
// order; a seed's numbers do not depend on which lane ran it (the matmul is bit-identical across
// thread counts, engine/cpu-fast/pool.ts).

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DefaultScale } from './scale.js';
import type { SeedWorkerData, SeedWorkerMessage } from './seed-worker.js';
import type { SeedResult } from './seed-run.js';

/** The compiled worker script, or null when running from TypeScript sources (tests): then run in-process. */
export function seedWorkerScript(): URL | null {
  const url = new URL('./seed-worker.js', import.meta.url);
  return fs.existsSync(fileURLToPath(url)) ? url : null;
}

export async function runSeedsInWorkers(script: URL, seeds: readonly number[], lanes: number, scale: DefaultScale, dirOf: (seed: number) => string, log: (line: string) => void): Promise<SeedResult[]> {
  const results = new Map<number, SeedResult>();
  const queue = [...seeds];
  const lane = async (): Promise<void> => {
    for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) {
      const s = seed;
      const data: SeedWorkerData = { seed: s, scale, runDir: dirOf(s) };
      const result = await new Promise<SeedResult>((resolve, reject) => {
        const w = new Worker(script, { workerData: data, env: { ...process.env, CAMELS_CPU_THREADS: '1', CAMELS_QUIET: '1' } });
        let settled = false;
        w.on('message', (m: SeedWorkerMessage) => {
          if (m.kind === 'log') log(m.line);
          else if (m.kind === 'done') {
            settled = true;
            resolve(m.result as SeedResult);
            void w.terminate();
          } else {
            settled = true;
            reject(new Error(`seed ${s}: ${m.message}`));
            void w.terminate();
          }
        });
        w.on('error', (e) => { if (!settled) { settled = true; reject(e); } });
        w.on('exit', (code) => { if (!settled) { settled = true; reject(new Error(`seed ${s}: worker exited with code ${code}`)); } });
      });
      results.set(s, result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(lanes, seeds.length)) }, lane));
  return seeds.map((s) => results.get(s)!);
}
