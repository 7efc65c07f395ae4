// Interrupted runs resume exactly: a configured meta-train killed (kill -9) at named points inside
// checkpoint writes, at random moments, or stopped by SIGINT / SIGTERM, then resumed with --resume,
// ends with bit-identical weights, optimizer state and metrics to the same run uninterrupted (cpu).
// Likewise qa-train, and an eval learning-rate sweep. A kill never leaves a mixed checkpoint or stray
// temporaries after the next start.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TINY, cli, cliAsync, onlyRun, tempDir, writeStreamingQa, type CliResult } from './run-fixtures.js';

const data = tempDir('camels-resume-data-');
writeStreamingQa(data, { metaTrain: 10 });
const common = ['dataset=streamingqa', `data_dir=${data}`, 'max_text_len=48', 'max_question_len=32', 'max_answer_len=10', '--device', 'cpu'];

const metaArgs = (out: string) => [
  'meta-train',
  `base_model=${TINY}`,
  ...common,
  `outputs=${out}`,
  `web_text_csv=${path.join(data, '8k.csv')}`,
  `web_text_val_csv=${path.join(data, '2k.csv')}`,
  'update_batch_size=2',
  'reset_base_freq=6', // the adapted base is carried over 3 batches
  'grad_acc_steps=2', // so most batch boundaries have a carried base and a pending gradient
  'max_outer_steps=5',
  'val_steps=2',
  'val_batches=1',
  'loc_batch_size=2',
  'c_norm=0.01',
  'weight_model_hidden=8',
  'outer_lr=0.01',
  'inner_lr=0.5',
];

/** What must be identical between an interrupted-and-resumed run and the uninterrupted one. */
function fingerprint(run: string, files: string[]): Record<string, string | unknown> {
  const latestName = fs.readFileSync(path.join(run, 'checkpoints', 'latest'), 'utf8').trim();
  const latest = path.join(run, 'checkpoints', latestName);
  const fp: Record<string, unknown> = {};
  for (const f of files) {
    const p = f.startsWith('latest/') ? path.join(latest, f.slice('latest/'.length)) : path.join(run, f);
    fp[f] = fs.readFileSync(p).toString('base64');
  }
  const state = JSON.parse(fs.readFileSync(path.join(latest, 'state.json'), 'utf8')) as Record<string, unknown>;
  delete state.metricsBytes;
  fp.state = state;
  fp.metrics = fs
    .readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { time: _t, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
  return fp;
}

/** No temporaries left and exactly one complete checkpoint. */
function expectClean(run: string): void {
  const ck = path.join(run, 'checkpoints');
  const names = fs.readdirSync(ck);
  expect(names.filter((n) => n.includes('.tmp-')), names.join(', ')).toEqual([]);
  expect(names.filter((n) => n.startsWith('ckpt-')).length).toBe(1);
}

/** Resolve once the single run under out/task has at least n metrics records. */
async function waitForMetrics(out: string, task: string, n: number, stderr: () => string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const root = path.join(out, task, 'streamingqa');
    const m = fs.existsSync(root) && fs.readdirSync(root).length ? path.join(onlyRun(out, task), 'metrics.jsonl') : null;
    if (m && fs.existsSync(m) && fs.readFileSync(m, 'utf8').trim().split('\n').length >= n) return;
    if (Date.now() - t0 > 90_000) throw new Error(`no progress in 90 s: ${stderr()}`);
  }
}

const META_FILES = ['checkpoints/best.safetensors', 'checkpoints/best.config.json', 'latest/weight_model.safetensors', 'latest/adam.safetensors'];

function expectKilled(r: CliResult, what: string): void {
  expect(r.signal, `${what}: ${r.err.slice(-2000)}`).toBe('SIGKILL');
}

describe('meta-train: kill and resume', () => {
  const refOut = tempDir('camels-resume-ref-');
  let reference: Record<string, unknown> | null = null;
  const ref = () => {
    if (reference) return reference;
    const r = cli(metaArgs(refOut));
    expect(r.code, r.err).toBe(0);
    reference = fingerprint(onlyRun(refOut, 'train'), META_FILES);
    return reference;
  };

  /** Resume the killed run in `out` (if it got as far as making its directory) and compare. */
  const resumeAndCompare = (out: string, what: string) => {
    const root = path.join(out, 'train', 'streamingqa');
    if (!fs.existsSync(root) || fs.readdirSync(root).length === 0) {
      const r = cli(metaArgs(out)); // killed before its run directory existed: nothing to resume
      expect(r.code, r.err).toBe(0);
    } else {
      const run = onlyRun(out, 'train');
      const r = cli(['meta-train', '--resume', run]);
      expect(r.code, `${what}: ${r.err.slice(-3000)}`).toBe(0);
    }
    const run = onlyRun(out, 'train');
    expectClean(run);
    expect(fingerprint(run, META_FILES), what).toEqual(ref());
  };

  for (const point of ['checkpoint:files-written@1', 'checkpoint:weights-written@2', 'checkpoint:before-pointer@1', 'checkpoint:after-pointer@2', 'atomic-file:before-rename@3', 'meta-train:batch-done@5', 'meta-train:batch-done@9']) {
    it(`is bit-identical after kill -9 at ${point}`, () => {
      const out = tempDir('camels-resume-');
      expectKilled(cli(metaArgs(out), { CAMELS_CRASH_AT: point }), point);
      resumeAndCompare(out, point);
    }, 120_000);
  }

  it('is bit-identical after kill -9 at random moments (twice in one run)', async () => {
    const out = tempDir('camels-resume-rand-');
    for (let k = 0; k < 2; k++) {
      const delay = 600 + Math.floor(Math.random() * 2500);
      const root = path.join(out, 'train', 'streamingqa');
      const args = fs.existsSync(root) && fs.readdirSync(root).length ? ['meta-train', '--resume', onlyRun(out, 'train')] : metaArgs(out);
      const p = cliAsync(args);
      const timer = setTimeout(() => p.child.kill('SIGKILL'), delay);
      const r = await p.done;
      clearTimeout(timer);
      if (r.code === 0) break; // finished before the kill: nothing left to interrupt
      expect(r.signal, `kill after ${delay} ms: ${r.err.slice(-2000)}`).toBe('SIGKILL');
    }
    resumeAndCompare(out, 'random kills');
  }, 180_000);

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} writes a checkpoint, says how to resume, exits ${code}; the resume is bit-identical`, async () => {
      const out = tempDir('camels-resume-sig-');
      const p = cliAsync(metaArgs(out));
      // Wait until a few meta batches are recorded, so the signal lands mid-run.
      await waitForMetrics(out, 'train', 4, p.stderr);
      p.child.kill(signal);
      const r = await p.done;
      expect(r.code, r.err.slice(-2000)).toBe(code);
      expect(r.err).toContain(`${signal} received: finishing the current step`);
      expect(r.err).toMatch(/resume with: camels-gpu meta-train --resume \S+/);
      expect(fs.readFileSync(path.join(onlyRun(out, 'train'), 'log.txt'), 'utf8')).toContain(`interrupted by ${signal}`);
      resumeAndCompare(out, signal);
    }, 120_000);
  }

  it('refuses a resume that changes a key other than the resume-safe ones, naming each', () => {
    const run = onlyRun(refOut, 'train');
    ref();
    const r = cli(['meta-train', '--resume', run, 'inner_lr=0.1', 'update_batch_size=3']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot change on resume');
    expect(r.err).toContain('inner_lr: run has 0.5, given 0.1');
    expect(r.err).toContain('update_batch_size: run has 2, given 3');
    // A finished run resumed with a larger max_outer_steps (a safe key) continues.
    const more = cli(['meta-train', '--resume', run, 'max_outer_steps=6']);
    expect(more.code, more.err).toBe(0);
    const state = JSON.parse(fs.readFileSync(path.join(run, 'checkpoints', fs.readFileSync(path.join(run, 'checkpoints', 'latest'), 'utf8').trim(), 'state.json'), 'utf8'));
    expect(state.outerStep).toBe(6);
    expect(JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')).max_outer_steps).toBe(6);
  }, 120_000);
});

describe('qa-train and eval: kill and resume', () => {
  const qaArgs = (out: string) => ['qa-train', `base_model=${TINY}`, ...common, `outputs=${out}`, 'train_steps=6', 'val_steps=2', 'lt_batch_size=2', 'grad_acc_steps=2', 'stop_k=5', 'val_generate=2', 'lr=0.001'];
  const QA_FILES = ['checkpoints/final/model.safetensors', 'checkpoints/best_nll/model.safetensors', 'latest/adam.safetensors', 'latest/model.safetensors'];

  it('qa-train resumes bit-identically after kill -9 inside a checkpoint and after SIGTERM', async () => {
    const refOut = tempDir('camels-qa-ref-');
    const r0 = cli(qaArgs(refOut));
    expect(r0.code, r0.err).toBe(0);
    const want = fingerprint(onlyRun(refOut, 'qa_pretraining'), QA_FILES);

    const out = tempDir('camels-qa-kill-');
    expectKilled(cli(qaArgs(out), { CAMELS_CRASH_AT: 'checkpoint:before-pointer@2' }), 'qa-train crash');
    const run = onlyRun(out, 'qa_pretraining');
    const r1 = cli(['qa-train', '--resume', run]);
    expect(r1.code, r1.err).toBe(0);
    expect(r1.err).toContain('resuming at step');
    expectClean(run);
    expect(fingerprint(run, QA_FILES)).toEqual(want);

    const out2 = tempDir('camels-qa-sig-');
    const p = cliAsync(qaArgs(out2));
    await waitForMetrics(out2, 'qa_pretraining', 2, p.stderr); // the run has begun (its handlers are installed)
    p.child.kill('SIGTERM');
    const r2 = await p.done;
    if (r2.code !== 0) {
      expect(r2.code, r2.err).toBe(143);
      const r3 = cli(['qa-train', '--resume', onlyRun(out2, 'qa_pretraining')]);
      expect(r3.code, r3.err).toBe(0);
    }
    expect(fingerprint(onlyRun(out2, 'qa_pretraining'), QA_FILES)).toEqual(want);
  }, 240_000);

  it('an interrupted eval sweep keeps its finished learning rates and ends with the same results', async () => {
    const evalArgs = (out: string) => ['eval', 'weight_model=uniform', `base_model=${TINY}`, ...common, `outputs=${out}`, 'lr=1e-3,1e-4,3e-4', 'num_beams=2', 'num_beam_groups=1', 'max_new_tokens=3', 'downsample_to=2'];
    const refOut = tempDir('camels-eval-ref-');
    const r0 = cli(evalArgs(refOut));
    expect(r0.code, r0.err).toBe(0);
    const refRun = onlyRun(refOut, 'eval');

    const out = tempDir('camels-eval-kill-');
    // Killed while writing the second learning rate's summary: the first stays, the second reruns.
    expectKilled(cli(evalArgs(out), { CAMELS_CRASH_AT: 'atomic-file:before-rename@4' }), 'eval crash');
    const run = onlyRun(out, 'eval');
    const r1 = cli(['eval', '--resume', run]);
    expect(r1.code, r1.err).toBe(0);
    expect(r1.err).toContain('already finished');
    for (const f of ['lr0.001-final_em.csv', 'lr0.0001-final_em.csv', 'lr0.0003-final_em.csv']) expect(fs.readFileSync(path.join(run, f), 'utf8'), f).toBe(fs.readFileSync(path.join(refRun, f), 'utf8'));
    const cut = (s: string) => s.split('\n').map((l) => l.split(',').slice(0, 5).join(','));
    expect(cut(fs.readFileSync(path.join(run, 'sweep.csv'), 'utf8'))).toEqual(cut(fs.readFileSync(path.join(refRun, 'sweep.csv'), 'utf8')));
  }, 240_000);
});

describe('the embedded default: signals', () => {
  it('SIGINT abandons the unfinished phases, says how to resume and exits 130', async () => {
    const out = tempDir('camels-default-sig-');
    const p = cliAsync(['meta-train', '--quick', '--seed', '0', '--device', 'cpu', '--outputs', out]);
    const root = path.join(out, 'meta-train', 'synthetic');
    const t0 = Date.now();
    while (!(fs.existsSync(root) && fs.readdirSync(root).length && fs.existsSync(path.join(root, fs.readdirSync(root)[0]!, 'config.json')))) {
      await new Promise((r) => setTimeout(r, 50));
      if (Date.now() - t0 > 90_000) throw new Error(`no run directory: ${p.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 300));
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code, r.err.slice(-2000)).toBe(130);
    expect(r.err).toMatch(/interrupted by SIGINT; the unfinished phases are abandoned; finished phases are kept in \S+; resume with: camels-gpu meta-train --resume \S+/);
  }, 120_000);
});
