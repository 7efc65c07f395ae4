// Runs that go wrong, through the real CLI, each under a time limit: sizes out of range are refused
// before a run directory exists; a diverging learning rate stops meta-train and qa-train naming the
// step, the settings and the last good checkpoint, and never leaves a non-finite checkpoint; in an
// eval sweep a diverged lr is marked and the others still run; empty selections are errors; the
// reference's keys that mean nothing here get a notice; --resume of something else is refused.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors } from '../../models/safetensors.js';
import { TINY, cli, onlyRun, tempDir, writeStreamingQa, type CliResult } from './run-fixtures.js';

const data = tempDir('camels-bad-data-');
writeStreamingQa(data);
const common = ['dataset=streamingqa', `data_dir=${data}`, 'max_text_len=48', 'max_question_len=32', 'max_answer_len=10', '--device', 'cpu'];
const LIMIT = 120_000;

/** A CLI run that must finish by itself well within the limit (a hang fails as a timeout kill). */
function run(args: string[]): CliResult {
  const r = cli(args, {}, LIMIT);
  expect(r.signal, `${args.join(' ')} did not finish: ${r.err.slice(-1000)}`).toBeNull();
  return r;
}

const meta = (out: string, extra: string[]) => ['meta-train', `base_model=${TINY}`, ...common, `outputs=${out}`, 'update_batch_size=2', 'reset_base_freq=4', 'grad_acc_steps=1', 'max_outer_steps=3', 'val_steps=1', 'val_batches=1', 'weight_model_hidden=8', ...extra];
const qa = (out: string, extra: string[]) => ['qa-train', `base_model=${TINY}`, ...common, `outputs=${out}`, 'train_steps=4', 'val_steps=2', 'lt_batch_size=2', 'grad_acc_steps=1', 'stop_k=3', 'val_generate=2', ...extra];
const evalArgs = (out: string, extra: string[]) => ['eval', 'weight_model=uniform', `base_model=${TINY}`, ...common, `outputs=${out}`, 'num_beams=2', 'num_beam_groups=1', 'max_new_tokens=3', 'downsample_to=2', ...extra];

/** Every tensor of every safetensors file under dir is finite. */
function expectAllFinite(dir: string): number {
  let files = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.safetensors')) {
        files++;
        const f = openSafetensors(p);
        try {
          for (const k of f.keys()) expect(f.readAsFloat32(k).every(Number.isFinite), `${p}: ${k}`).toBe(true);
        } finally {
          f.close();
        }
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return files;
}

describe('sizes and values out of range', () => {
  it.each([
    { label: 'meta-train grad_acc_steps=0', make: meta, extra: ['grad_acc_steps=0'], message: "'grad_acc_steps' must be an integer ≥ 1, got 0" },
    { label: 'meta-train update_batch_size=0', make: meta, extra: ['update_batch_size=0'], message: "'update_batch_size' must be an integer ≥ 1, got 0" },
    { label: 'meta-train update_batch_size=-1', make: meta, extra: ['update_batch_size=-1'], message: "'update_batch_size' must be an integer ≥ 1, got -1" },
    { label: 'meta-train max_text_len=0', make: meta, extra: ['max_text_len=0'], message: "'max_text_len' must be an integer ≥ 2, got 0" },
    { label: 'meta-train reset_base_freq=3', make: meta, extra: ['reset_base_freq=3'], message: 'reset_base_freq (3) must be a multiple of update_batch_size (2)' },
    { label: 'meta-train bm_learned_layers=2', make: meta, extra: ['bm_learned_layers=2'], message: "'bm_learned_layers=2' is not supported" },
    { label: 'qa-train grad_acc_steps=0', make: qa, extra: ['grad_acc_steps=0'], message: "'grad_acc_steps' must be an integer ≥ 1, got 0" },
    { label: 'qa-train lt_batch_size=0', make: qa, extra: ['lt_batch_size=0'], message: "'lt_batch_size' must be an integer ≥ 1, got 0" },
    { label: 'qa-train lt_batch_size=500', make: qa, extra: ['lt_batch_size=500'], message: 'fewer than one batch (batch size 500)' },
    { label: 'eval downsample_to=0', make: evalArgs, extra: ['downsample_to=0'], message: "'downsample_to' must be an integer ≥ 1 or -1, got 0" },
    { label: 'eval num_beams=4 num_beam_groups=3', make: evalArgs, extra: ['num_beams=4', 'num_beam_groups=3'], message: 'num_beam_groups (3) must divide num_beams (4)' },
    { label: 'eval weight_model=CaMeLS', make: evalArgs, extra: ['weight_model=CaMeLS'], message: 'weight_model=CaMeLS needs weight_model_path' },
  ])('$label is refused before a run directory is made', ({ make, extra, message }) => {
    const out = tempDir('camels-bad-');
    const r = run(make(out, [...extra]));
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    expect(fs.readdirSync(out)).toEqual([]);
  }, LIMIT);

  it('an all-empty-answer test file is an error, not NaN scores', () => {
    const d = tempDir('camels-empty-');
    for (const f of fs.readdirSync(data)) fs.copyFileSync(path.join(data, f), path.join(d, f));
    fs.writeFileSync(path.join(d, 'test.csv'), 'text,question,answers\n"A document.","Who?",""\n"Another.","What?","  "\n');
    const out = tempDir('camels-bad-');
    const r = run(evalArgs(out, [`data_dir=${d}`]));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/test split .*test\.csv: the evaluation stream has 0 documents and 0 questions; nothing to evaluate/);
    expect(fs.readdirSync(out)).toEqual([]);
  }, LIMIT);
});

describe('diverging runs', () => {
  it('meta-train with a huge inner_lr stops naming the step, the lrs and the last checkpoint; nothing non-finite is saved', () => {
    const out = tempDir('camels-nan-');
    const r = run(meta(out, ['inner_lr=1e6']));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/meta-train: (outer loss|meta-gradient norm|validation loss) \((NaN|-?Infinity)\) is not finite at step \d+ \(inner_lr=1000000, outer_lr=0\.00001\); the run diverged/);
    const runDir = onlyRun(out, 'train');
    expectAllFinite(runDir);
    expect(fs.existsSync(path.join(runDir, 'report.html'))).toBe(false);
  }, LIMIT);

  it('qa-train with a huge lr stops and writes no final model', () => {
    const out = tempDir('camels-nan-');
    const r = run(qa(out, ['lr=1e30', 'grad_clip_thresh=1e30']));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/qa-train: .* is not finite at step \d+ \(lr=1e\+30\)/);
    const runDir = onlyRun(out, 'qa_pretraining');
    expect(fs.existsSync(path.join(runDir, 'checkpoints', 'final'))).toBe(false);
    expectAllFinite(runDir);
  }, LIMIT);

  it('in an eval sweep a diverged lr is marked and the others still run', () => {
    const out = tempDir('camels-nan-');
    const r = run(evalArgs(out, ['lr=1e30,1e-3', 'grad_clip_thresh=1e30']));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("eval: lr 1e+30 diverged");
    expect(r.out).toMatch(/\| 1e\+30 \| diverged \| diverged \| diverged \|/);
    expect(r.out).toMatch(/\| 0\.001 \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \|/);
    const sweep = fs.readFileSync(path.join(onlyRun(out, 'eval'), 'sweep.csv'), 'utf8').trim().split('\n');
    expect(sweep[1]).toMatch(/^1e\+30,diverged,/);
    expect(sweep[2]).toMatch(/^0\.001,ok,/);
    const summary = JSON.parse(fs.readFileSync(path.join(onlyRun(out, 'eval'), 'lr1e+30-summary.json'), 'utf8'));
    expect(summary.final).toBeNull();
    expect(summary.diverged.reason).toContain('non-finite');
  }, LIMIT);
});

describe('diverging runs with sgd', () => {
  it('eval optimizer=sgd adapts, and a diverging sgd lr is marked too', () => {
    const out = tempDir('camels-nan-sgd-');
    const r = run(evalArgs(out, ['optimizer=sgd', 'lr=1e30,1e-3']));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\| 1e\+30 \| diverged \| diverged \| diverged \|/);
    expect(r.out).toMatch(/\| 0\.001 \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \|/);
  }, LIMIT);
});

describe('reference keys and resume targets', () => {
  it('notices the reference keys that mean nothing here and implements batch_size / grad_acc_steps', () => {
    const out = tempDir('camels-notice-');
    const r = run(evalArgs(out, ['wandb_log=false', 'lt_grad_acc_steps=4', 'batch_size=2', 'grad_acc_steps=2', 'generation_batch_size=1']));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("notice: eval: 'wandb_log=false' is ignored: no wandb here");
    expect(r.err).toContain("notice: eval: 'lt_grad_acc_steps=4' is ignored: unused in the reference");
    expect(fs.readFileSync(path.join(onlyRun(out, 'eval'), 'log.txt'), 'utf8')).toContain("'wandb_log=false' is ignored");
  }, LIMIT);

  it('refuses to resume a directory that is not a run of that task', () => {
    const out = tempDir('camels-resume-bad-');
    expect(run(['meta-train', '--resume', out, ...common]).err).toContain(`'${out}' is not a run directory (no config.json)`);
    const q = run(qa(out, []));
    expect(q.code, q.err).toBe(0);
    const qaRun = onlyRun(out, 'qa_pretraining');
    const r = run(['eval', '--resume', qaRun]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`is a run of task 'qa', not of eval`);
  }, LIMIT);
});
