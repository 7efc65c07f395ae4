// The command line end to end through child processes (dist/ is built by `npm test` first):
// help, info, score, generate against the golden fixture, bad input, and the reduced default
// experiment killed mid-run and resumed.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openSafetensors } from '../../models/safetensors.js';
import { loadTokenizer } from '../../models/tokenizer.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'camels-gpu.mjs');
const TINY = path.join(ROOT, 'test', 'fixtures', 'golden', 'tiny-gpt2');

function cli(args: string[], timeout = 120_000) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout, env: { ...process.env, CAMELS_QUIET: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('camels-gpu CLI', () => {
  it('prints help for the commands and the task keys', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['info', 'bench', 'generate', 'score', 'qa-train', 'meta-train', 'eval']) expect(r.out).toContain(c);
    const m = cli(['meta-train', '--help']);
    expect(m.out).toContain('inner_lr=0.0005');
    expect(m.out).toContain('update_batch_size=6');
  });

  it('info names the backend', () => {
    const r = cli(['info', '--device', 'cpu']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('backend in use: cpu');
  });

  it('bench model runs one step kind on request and rejects bad options', () => {
    const r = cli(['bench', 'model', '--config', 'tiny', '--batch', '2', '--seq', '16', '--repeat', '1', '--warmup', '0', '--only', 'train', '--json', '--device', 'cpu']);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { op: string; shape: number[]; ms: number });
    expect(lines.map((l) => l.op)).toEqual(['train_step']);
    expect(lines[0]!.shape).toEqual([2, 16]);
    expect(lines[0]!.ms).toBeGreaterThan(0);
    const bad = cli(['bench', 'model', '--config', 'tiny', '--only', 'both', '--device', 'cpu']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("--only must be train or meta, got 'both'");
  });

  it('bench reference --quick runs the reference outer step and the adaptation step, with counts', () => {
    const r = cli(['bench', 'reference', '--quick', '--repeat', '1', '--warmup', '1', '--json', '--device', 'cpu'], 120_000);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { op: string; shape: number[]; ms: number; kernels: number; inner_steps?: number; quick: number });
    expect(lines.map((l) => l.op)).toEqual(['reference_outer_step', 'reference_adapt_step']);
    expect(lines[0]!.shape).toEqual([3, 64]);
    expect(lines[0]!.inner_steps).toBe(3);
    for (const l of lines) {
      expect(l.ms).toBeGreaterThan(0);
      expect(l.kernels).toBeGreaterThan(100);
      expect(l.quick).toBe(1);
    }
    const bad = cli(['bench', 'reference', '--only', 'inner', '--device', 'cpu']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain("--only must be outer or adapt, got 'inner'");
  });

  it('score --json gives ids, per-token log-probs and the mean loss', () => {
    const r = cli(['score', '--model', TINY, '--text', 'In 1873, Mira Kessel founded the Zorblat Institute in Varnholm.', '--json', '--device', 'cpu']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { ids: number[]; logprobs: number[]; loss: number };
    expect(j.ids).toEqual([292, 279, 23, 19, 12, 300, 474, 438, 473, 297, 435, 437, 265, 481, 14]);
    expect(j.logprobs.length).toBe(j.ids.length - 1);
    expect(j.logprobs.every((x) => x < 0)).toBe(true);
    expect(j.loss).toBeCloseTo(-j.logprobs.reduce((a, b) => a + b, 0) / j.logprobs.length, 6);
  });

  it('generate reproduces the golden greedy continuation', () => {
    const exp = openSafetensors(path.join(TINY, 'expected.safetensors'));
    const prompt = Array.from(exp.readAsInt32('greedy_prompt'));
    const want = Array.from(exp.readAsInt32('greedy_out'));
    exp.close();
    const tok = loadTokenizer(TINY);
    const text = tok.decode(prompt);
    expect(tok.encode(text)).toEqual(prompt);
    const r = cli(['generate', '--model', TINY, '--prompt', text, '--max-new-tokens', String(want.length - prompt.length), '--json', '--device', 'cpu']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { ids: number[]; newIds: number[] };
    expect(j.ids).toEqual(want);
  });

  it('rejects bad input with a clear message', () => {
    const a = cli(['eval', 'no_such_key=3', '--device', 'cpu']);
    expect(a.code).toBe(1);
    expect(a.err).toContain("unknown key 'no_such_key'");
    const b = cli(['score', '--model', '/nonexistent/model', '--text', 'hi there', '--device', 'cpu']);
    expect(b.code).toBe(1);
    expect(b.err).toMatch(/nonexistent/);
    const c = cli(['eval', 'base_model=/nonexistent', 'test_path=/x.csv', '--device', 'cpu']);
    expect(c.code).toBe(1);
    expect(c.err).toContain('is not a Hugging Face model directory');
    const d = cli(['frobnicate']);
    expect(d.code).toBe(1);
    const e = cli(['info', '--device', 'tpu']);
    expect(e.code).toBe(1);
    expect(e.err).toContain("unknown device 'tpu'");
  });

  it('runs the reduced default experiment, survives a kill and resumes', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'camels-cli-'));
    const child = spawn(process.execPath, [BIN, 'meta-train', '--quick', '--device', 'cpu', '--outputs', out], { cwd: ROOT, env: { ...process.env, CAMELS_QUIET: '1' } });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    // kill as soon as the base model phase is recorded
    const runDir = await new Promise<string>((resolve, reject) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        const root = path.join(out, 'meta-train', 'synthetic');
        const dirs = fs.existsSync(root) ? fs.readdirSync(root) : [];
        const state = dirs.length ? path.join(root, dirs[0]!, 'seed-0', 'default-state.json') : '';
        if (state && fs.existsSync(state) && 'base' in JSON.parse(fs.readFileSync(state, 'utf8')).phases) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve(path.join(root, dirs[0]!));
        } else if (Date.now() - t0 > 240_000) {
          clearInterval(poll);
          child.kill('SIGKILL');
          reject(new Error(`the base phase never finished: ${stdout}`));
        }
      }, 20);
    });
    await new Promise((r) => child.on('exit', r));
    expect(fs.existsSync(path.join(runDir, 'results.md'))).toBe(false);
    const r = cli(['meta-train', '--quick', '--device', 'cpu', '--outputs', out, '--resume', runDir], 300_000);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('[seed 0] 3/6 base model: already trained (resumed)');
    const table = fs.readFileSync(path.join(runDir, 'results.md'), 'utf8');
    for (const m of ['uniform', 'ssm', 'tfidf', 'CaMeLS']) expect(table).toContain(`| ${m} |`);
    expect(table).toContain('| CaMeLS-uniform |');
    const results = JSON.parse(fs.readFileSync(path.join(runDir, 'results.json'), 'utf8'));
    expect(results.seeds).toEqual([0]);
    expect(Object.keys(results.methods).sort()).toEqual(['CaMeLS', 'ssm', 'tfidf', 'uniform']);
    for (const m of Object.values(results.methods) as { lr: Record<string, number>; answer_nll: { mean: number } }[]) {
      expect(m.lr['0']).toBeGreaterThan(0);
      expect(Number.isFinite(m.answer_nll.mean)).toBe(true);
    }
    expect(results.paired['CaMeLS-uniform'].answer_nll.ci95).toHaveLength(2);
    // the oracle reference row: all weight on the answer spans
    expect(results.oracle.answer_weight_share.mean).toBe(1);
    expect(Number.isFinite(results.oracle.answer_nll.mean)).toBe(true);
    expect(results.oracle.paired['oracle-uniform'].answer_nll.ci95).toHaveLength(2);
    expect(table).toContain('| oracle† |');
    const report = fs.readFileSync(path.join(runDir, 'report.html'), 'utf8');
    expect(report).toContain('<pre id="results">');
    expect(report).toContain('class="tok ans"'); // answer spans underlined in the colour maps
  }, 600_000);
});
