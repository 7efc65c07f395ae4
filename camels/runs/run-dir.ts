// A run's directory: <outputs>/<task>/<dataset>/<time>/ with the resolved config, a log, metrics as
// JSONL and its checkpoints (camels/runs/checkpoint.ts). Opening a run to resume removes stray
// temporaries and cuts metrics.jsonl back to what the latest checkpoint had seen.

import fs from 'node:fs';
import path from 'node:path';
import { writeAtomic } from './atomic-files.js';
import { CheckpointStore } from './checkpoint.js';

export { writeAtomic, writeDirAtomic } from './atomic-files.js';

export class RunDir {
  readonly dir: string;
  readonly checkpoints: CheckpointStore;

  constructor(dir: string) {
    this.dir = dir;
    fs.mkdirSync(dir, { recursive: true });
    this.checkpoints = new CheckpointStore(path.join(dir, 'checkpoints'));
  }

  /** A new run directory under outputs (never an existing one). */
  static create(outputs: string, task: string, dataset: string): RunDir {
    const stamp = new Date().toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
    let dir = path.join(outputs, task, dataset, stamp);
    for (let i = 1; fs.existsSync(dir); i++) dir = path.join(outputs, task, dataset, `${stamp}_${i}`);
    return new RunDir(dir);
  }

  /** An existing run to resume: it must have its config.json. */
  static open(dir: string): RunDir {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`--resume: '${dir}' is not a directory`);
    if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`--resume: '${dir}' is not a run directory (no config.json)`);
    const run = new RunDir(dir);
    run.checkpoints.recover();
    return run;
  }

  /** The stored config.json of this run. */
  readConfig(): Record<string, unknown> {
    const f = this.path('config.json');
    try {
      return JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${f}: not a valid config file (${(e as Error).message})`);
    }
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  writeConfig(cfg: object): void {
    writeAtomic(this.path('config.json'), JSON.stringify(cfg, null, 2) + '\n');
  }

  log(line: string): void {
    fs.appendFileSync(this.path('log.txt'), `[${new Date().toISOString()}] ${line}\n`);
  }

  metric(record: Record<string, unknown>): void {
    fs.appendFileSync(this.path('metrics.jsonl'), JSON.stringify({ time: Date.now(), ...record }) + '\n');
  }

  /** Bytes of metrics.jsonl written so far (a checkpoint stores it). */
  metricsBytes(): number {
    const f = this.path('metrics.jsonl');
    return fs.existsSync(f) ? fs.statSync(f).size : 0;
  }

  /** Cut metrics.jsonl back to `bytes` (what a checkpoint had seen), so a resume duplicates no record. */
  truncateMetrics(bytes: number): void {
    const f = this.path('metrics.jsonl');
    if (!fs.existsSync(f)) {
      if (bytes > 0) throw new Error(`${f} is missing but the checkpoint saw ${bytes} bytes of it`);
      return;
    }
    const size = fs.statSync(f).size;
    if (size < bytes) throw new Error(`${f} has ${size} bytes, fewer than the ${bytes} its checkpoint saw`);
    if (size > bytes) fs.truncateSync(f, bytes);
  }

  readMetrics(): Record<string, unknown>[] {
    const f = this.path('metrics.jsonl');
    if (!fs.existsSync(f)) return [];
    return fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
