// Shared by the CLI tests: the built binary, a CLI runner, the tiny GPT-2 fixture, and StreamingQA
// CSVs (plus OpenWebText-style locality CSVs) written from the synthetic generator.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSyntheticDataset, syntheticQaExamples } from '../../camels/data/synthetic.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'camels-gpu.mjs');
export const TINY = path.join(ROOT, 'test', 'fixtures', 'golden', 'tiny-gpt2');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Run the CLI to completion (quiet progress) with extra environment. */
export function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 300_000): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, CAMELS_QUIET: '1', ...env } });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

/** Start the CLI without waiting: the child, and a promise of its result. */
export function cliAsync(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, CAMELS_QUIET: '1', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return { child, done, stderr: () => err };
}

const csvCell = (s: string) => `"${s.replace(/"/g, '""')}"`;

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** StreamingQA-format CSVs (train/val/test/qa_train/qa_val) and 8k/2k locality CSVs in dir. */
export function writeStreamingQa(dir: string, opts: { metaTrain?: number; test?: number } = {}): void {
  const ds = generateSyntheticDataset({ seed: 21, qaPretrain: 6, metaTrain: opts.metaTrain ?? 8, validation: 4, test: opts.test ?? 3, distractors: 1 });
  const write = (name: string, docs: typeof ds.test) => {
    const rows = syntheticQaExamples(docs).map((r) => [r.document, r.question, `${r.answer}\\\\${r.answer} (the)`].map(csvCell).join(','));
    fs.writeFileSync(path.join(dir, name), ['text,question,answers', ...rows].join('\n') + '\n');
  };
  write('train.csv', ds.metaTrain);
  write('val.csv', ds.validation);
  write('test.csv', ds.test);
  write('qa_train.csv', ds.qaPretrain);
  write('qa_val.csv', ds.validation);
  const owt = ['raw_text', ...ds.qaPretrain.map((d) => csvCell(d.text))].join('\n') + '\n';
  fs.writeFileSync(path.join(dir, '8k.csv'), owt);
  fs.writeFileSync(path.join(dir, '2k.csv'), owt);
}

/** The single run directory under <out>/<task>/<dataset>/. */
export function onlyRun(out: string, task: string, dataset = 'streamingqa'): string {
  const root = path.join(out, task, dataset);
  const runs = fs.readdirSync(root);
  if (runs.length !== 1) throw new Error(`expected one run in ${root}, found ${runs.join(', ')}`);
  return path.join(root, runs[0]!);
}
