// The CaMeLS task commands: qa-train, meta-train (the embedded default with no arguments) and eval.
// Each resolves its typed config once (camels/config), loads and checks its data and models, and
// only then makes its run directory; `--resume DIR` continues a run from its own config.json, where
// only resume-safe keys may change.

import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_TASK, EVAL_TASK, QA_TASK, TRAIN_TASK, applyOverrides, checkConfig, defaultsOf, resolveConfig, resolveResumeConfig, type CommonConfig, type Resolved, type Schema, type TaskSchema } from '../../camels/config.js';
import { writeReport } from '../../camels/report/report.js';
import { sampleTokenWeights } from '../../camels/report/samples.js';
import { installAbandonHandlers, installInterruptHandlers, setResumeHint } from '../../camels/runs/interrupt.js';
import { fmt } from '../../camels/runs/progress.js';
import { RunDir, writeAtomic } from '../../camels/runs/run-dir.js';
import { loadEvalStream, loadLocality, loadRows } from '../../camels/tasks/datasets.js';
import { runDefaultExperiment, seedList } from '../../camels/tasks/default-experiment.js';
import { metaTrain } from '../../camels/tasks/meta-train.js';
import { decodingOptions, evaluateOnline, finishedOutcome, type EvalOutcome } from '../../camels/tasks/online-eval.js';
import { qaLightTune } from '../../camels/tasks/qa-train.js';
import { loadWeightModel, newWeightModel, weightModelBodyConfig } from '../../camels/weight-model.js';
import { resolveBaseModel, resolveModelSource } from '../../models/model-source.js';
import { camelsWeighting, ssmWeighting, tfidfWeighting, uniformWeighting, type TokenWeighting } from '../../camels/weighting/weighters.js';
import { probeWebGPU, shutdownDevices, type Tensor } from '../../engine/index.js';
import { disposeModel, loadPretrained, savePretrained } from '../../models/pretrained.js';
import { loadTokenizer } from '../../models/tokenizer.js';
import { setupDevice, writeDeviceRecord } from '../device-option.js';

/** The base model: base_model (directory or hub id), weights from base_model_state_dict (.pt / .safetensors / model dir) when set. */
function baseDir(cfg: CommonConfig): Promise<{ dir: string; weights: string | null }> {
  return resolveBaseModel(cfg.base_model, cfg.base_model_state_dict);
}

function tokenizerDir(cfg: CommonConfig, fallback: string): Promise<string> {
  return resolveModelSource(cfg.tokenizer_name ?? fallback, { files: ['tokenizer.json'] });
}

/** The `--resume DIR` of a command: the flag or the resume= key. */
function resumeDir(overrides: string[], flags: Record<string, unknown>): string | null {
  if (typeof flags.resume === 'string' && flags.resume) return flags.resume;
  const kv = overrides.find((o) => o.startsWith('resume='));
  const v = kv?.slice('resume='.length);
  return v && v !== 'null' ? v : null;
}

interface Prepared<S extends Schema> extends Resolved<S> {
  /** The run to continue, already open, when resuming. */
  resumed: RunDir | null;
}

/** Resolve a new run's config, or a resumed run's from its config.json (only resume-safe keys may change). */
function prepare<S extends Schema>(t: TaskSchema<S>, overrides: string[], flags: Record<string, unknown>): Prepared<S> {
  const dir = resumeDir(overrides, flags);
  const rest = overrides.filter((o) => !o.startsWith('resume='));
  const { resume: _r, ...otherFlags } = flags;
  if (!dir) return { ...resolveConfig(t, rest, otherFlags), resumed: null };
  const run = RunDir.open(dir);
  const stored = run.readConfig();
  const task = String((t.keys as Record<string, { default: unknown }>).task?.default ?? '');
  if (stored.task !== undefined && stored.task !== task) throw new Error(`${t.task} --resume: '${dir}' is a run of task '${String(stored.task)}', not of ${t.task}`);
  return { ...resolveResumeConfig(t, stored, dir, rest, otherFlags), resumed: run };
}

/** Make (or reopen) the run directory once everything is validated, and record the config and notices. */
function startRun(p: Prepared<Schema> & { cfg: CommonConfig }, task: string, device: string): RunDir {
  const run = p.resumed ?? RunDir.create(p.cfg.outputs, task, p.cfg.dataset);
  run.writeConfig(p.cfg);
  writeDeviceRecord(run);
  for (const n of p.notices) run.log(n);
  run.log(`${p.resumed ? 'resumed' : 'started'} on device ${device}`);
  setResumeHint(run.dir, `camels-gpu ${task === 'train' ? 'meta-train' : task === 'qa_pretraining' ? 'qa-train' : 'eval'} --resume ${run.dir}`);
  console.error(`run directory: ${run.dir}`);
  return run;
}

function printNotices(notices: string[]): void {
  for (const n of notices) console.error(`notice: ${n}`);
}

export async function qaTrainCommand(overrides: string[], flags: Record<string, unknown>): Promise<void> {
  const p = prepare(QA_TASK, overrides, flags);
  const cfg = p.cfg;
  printNotices(p.notices);
  const backend = await setupDevice(cfg.device);
  const { dir, weights } = await baseDir(cfg);
  const tok = loadTokenizer(await tokenizerDir(cfg, dir));
  const train = loadRows(cfg, 'lt_train');
  const val = loadRows(cfg, 'lt_val');
  if (train.length < cfg.lt_batch_size) throw new Error(`qa-train: ${train.length} training pairs, fewer than one batch (batch size ${cfg.lt_batch_size})`);
  const model = loadPretrained(dir, { device: backend.name, weights });
  const run = startRun(p, 'qa_pretraining', backend.name);
  installInterruptHandlers();
  try {
    const r = await qaLightTune(model, tok, train, val, cfg, run, {
      lr: cfg.lr,
      batchSize: cfg.lt_batch_size,
      gradAcc: cfg.grad_acc_steps,
      clip: cfg.grad_clip_thresh,
      valSteps: cfg.val_steps,
      patience: cfg.stop_k,
      metric: cfg.stopping_metric,
      maxSteps: cfg.train_steps,
      label: 'qa-train',
      saveDir: run.path('checkpoints'),
      valGenerate: cfg.val_generate,
      eos: cfg.qa_eos,
      checkpoints: true,
      resumeCommand: `camels-gpu qa-train --resume ${run.dir}`,
    });
    await savePretrained(model, run.path('checkpoints', 'final'));
    console.log(`best ${cfg.stopping_metric} at step ${r.best.step}: nll ${r.best.nll.toFixed(4)}, max_f1 ${r.best.max_f1.toFixed(4)}; checkpoints in ${run.path('checkpoints')}`);
  } finally {
    disposeModel(model);
  }
}

/** A run directory made by the embedded default experiment (its config.json says so), not a configured meta-train. */
function isDefaultRun(dir: string): boolean {
  const f = path.join(dir, 'config.json');
  if (!fs.existsSync(f)) return false;
  try {
    return (JSON.parse(fs.readFileSync(f, 'utf8')) as { experiment?: string }).experiment === 'default';
  } catch {
    return false;
  }
}

export async function metaTrainCommand(overrides: string[], flags: Record<string, unknown>): Promise<void> {
  const resume = resumeDir(overrides, flags);
  if (overrides.length === 0 && (!resume || isDefaultRun(resume))) return defaultExperimentCommand(flags, resume);
  const p = prepare(TRAIN_TASK, overrides, flags);
  const cfg = p.cfg;
  printNotices(p.notices);
  const backend = await setupDevice(cfg.device);
  const { dir, weights } = await baseDir(cfg);
  const tok = loadTokenizer(await tokenizerDir(cfg, dir));
  const data = { train: loadRows(cfg, 'train'), val: cfg.val ? loadRows(cfg, 'val') : [], loc: cfg.web_text_loc ? loadLocality(cfg, 'web_text_csv') : [], locVal: cfg.web_text_loc ? loadLocality(cfg, 'web_text_val_csv') : [] };
  if (data.train.length < cfg.update_batch_size) throw new Error(`meta-train: ${data.train.length} training rows, need at least update_batch_size = ${cfg.update_batch_size}`);
  if (cfg.reset_base_freq % cfg.update_batch_size !== 0) throw new Error(`meta-train: reset_base_freq (${cfg.reset_base_freq}) must be a multiple of update_batch_size (${cfg.update_batch_size})`);
  const base = loadPretrained(dir, { device: backend.name, weights });
  const bodyDir = await resolveModelSource(cfg.pretrained_model ?? dir);
  const body = loadPretrained(bodyDir, { device: backend.name });
  const bodyParams: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(body.params)) {
    if (k.startsWith('transformer.')) bodyParams[k] = t;
    else t.dispose();
  }
  const load = cfg.load_checkpoint_path;
  const wm = load
    ? loadWeightModel(load, await weightModelBodyConfig(load, bodyDir), { device: backend.name, normalize: cfg.normalize })
    : newWeightModel(body.config, body.rawConfig, bodyParams, cfg.weight_model_hidden, cfg.seed, { normalize: cfg.normalize });
  if (load) for (const t of Object.values(bodyParams)) t.dispose();
  const run = startRun(p, 'train', backend.name);
  installInterruptHandlers();
  try {
    const r = await metaTrain({ run, tokenizer: tok, base, wm, data, device: backend.name, dtype: 'float32', resumeCommand: `camels-gpu meta-train --resume ${run.dir}` }, cfg);
    const valDocs = (cfg.val ? data.val : data.train).slice(0, 3).map((x) => x.document);
    const samples = await sampleTokenWeights(tok, valDocs, cfg.max_text_len, [uniformWeighting(), camelsWeighting(wm)], backend.name, 'float32');
    const report = writeReport(run.path('report.html'), { title: 'camels-gpu meta-train', runDir: run.dir, table: [], init: null, metrics: run.readMetrics(), samples, notes: [`${r.outerSteps} outer steps`, `best validation loss ${r.bestVal.toFixed(4)}`] });
    console.log(`meta-training done: ${r.outerSteps} outer steps; best validation loss ${r.bestVal}; best weight model ${r.bestCheckpoint}; report ${report}`);
  } finally {
    disposeModel(base);
    for (const t of Object.values(wm.params)) t.dispose();
  }
}

/** `meta-train` with no key=value arguments: the embedded default experiment (or its resume). */
async function defaultExperimentCommand(flags: Record<string, unknown>, resume: string | null): Promise<void> {
  const { resume: _r, ...rest } = flags;
  const { cfg, set } = applyOverrides(DEFAULT_TASK, defaultsOf(DEFAULT_TASK.keys), [], rest, ['kernels', 'help', 'version']);
  checkConfig(DEFAULT_TASK.keys, cfg);
  if (set.has('seed') && set.has('seeds')) throw new Error('meta-train: give --seed S or --seeds N, not both');
  // A resumed run keeps its own seeds unless --seed / --seeds say otherwise.
  const seeds = set.has('seed') ? seedList({ seed: cfg.seed }) : set.has('seeds') ? seedList({ seeds: cfg.seeds }) : resume ? undefined : seedList({ quick: cfg.quick, seeds: cfg.quick ? undefined : cfg.seeds });
  let request: string | undefined = set.has('device') ? cfg.device : undefined;
  if (request === undefined && !process.env.CAMELS_DEVICE) {
    // A software WebGPU adapter (llvmpipe) runs this experiment's small model slower than the
    // cpu backend (measured, bench/RESULTS.md); a real GPU is used when present.
    const gpu = await probeWebGPU();
    if (gpu?.isSoftware) {
      console.error(`device: cpu (the WebGPU adapter ${gpu.adapterName} is a software rasterizer, slower here than the cpu backend; --device webgpu to use it)`);
      request = 'cpu';
      shutdownDevices(); // an idle Dawn device still costs CPU time
    }
  }
  const backend = await setupDevice(request);
  installAbandonHandlers();
  const r = await runDefaultExperiment({ device: backend.name, outputs: cfg.outputs, resume, quick: cfg.quick, seeds });
  console.error(`finished in ${fmt(r.seconds)}; run directory ${r.runDir}`);
}

async function makeWeighting(cfg: ReturnType<typeof prepare<typeof EVAL_TASK.keys>>['cfg'], tokDir: string, device: 'cpu' | 'webgpu'): Promise<{ w: TokenWeighting; dispose: () => void }> {
  const tok = loadTokenizer(tokDir);
  switch (cfg.weight_model) {
    case 'uniform':
      return { w: uniformWeighting(), dispose: () => {} };
    case 'ssm':
      return { w: ssmWeighting(tok), dispose: () => {} };
    case 'tfidf': {
      const corpus = cfg.tfidf_corpus ? loadRows({ ...cfg, test_path: cfg.tfidf_corpus }, 'test').map((r) => r.document) : loadEvalStream({ ...cfg, downsample_to: -1 }).documents;
      return { w: tfidfWeighting(tok, corpus, cfg.min_threshold > 0 ? cfg.min_threshold : null), dispose: () => {} };
    }
    case 'CaMeLS': {
      const p = cfg.weight_model_path;
      if (!p) throw new Error('eval: weight_model=CaMeLS needs weight_model_path=<best.safetensors of a meta-train run>');
      const wm = loadWeightModel(p, await weightModelBodyConfig(p, cfg.pretrained_model), { device, normalize: cfg.normalize });
      return { w: camelsWeighting(wm), dispose: () => Object.values(wm.params).forEach((t) => t.dispose()) };
    }
  }
}

const pct = (x: number) => (100 * x).toFixed(2);

/** The sweep's table as CSV: one row per lr, diverged ones marked. */
export function sweepCsv(outcomes: EvalOutcome[]): string {
  const rows = outcomes.map((r) => (r.final ? [r.lr, 'ok', pct(r.final.em), pct(r.final.emStandard), pct(r.final.maxF1.mean), r.adaptSeconds.toFixed(1)] : [r.lr, 'diverged', '', '', '', r.adaptSeconds.toFixed(1)]).join(','));
  return ['lr,status,em_ref,em_std,f1,adapt_seconds', ...rows].join('\n') + '\n';
}

export async function evalCommand(overrides: string[], flags: Record<string, unknown>): Promise<void> {
  const p = prepare(EVAL_TASK, overrides, flags);
  const cfg = p.cfg;
  printNotices(p.notices);
  const backend = await setupDevice(cfg.device);
  const { dir, weights } = await baseDir(cfg);
  const tokDir = await tokenizerDir(cfg, dir);
  const tok = loadTokenizer(tokDir);
  const stream = loadEvalStream(cfg);
  const ltTrain = cfg.qa_lt_final ? loadRows(cfg, 'lt_train') : undefined;
  const ltVal = cfg.qa_lt_final ? loadRows(cfg, 'lt_val') : undefined;
  decodingOptions(cfg, tok); // checks the decoding keys before anything runs
  const { w, dispose } = await makeWeighting(cfg, tokDir, backend.name);
  const run = startRun(p, 'eval', backend.name);
  installInterruptHandlers();
  const lrs = cfg.lr;
  const outcomes: EvalOutcome[] = [];
  let reportSamples: Awaited<ReturnType<typeof sampleTokenWeights>> = [];
  try {
    for (const lr of lrs) {
      const tag = lrs.length > 1 ? `lr${lr}-` : '';
      const done = p.resumed ? finishedOutcome(run, tag) : null;
      if (done) {
        console.error(`eval: lr ${lr} already finished in ${run.dir} (resumed)`);
        outcomes.push(done);
        continue;
      }
      const r = await evaluateOnline(
        { run, tokenizer: tok, loadBase: () => loadPretrained(dir, { device: backend.name, weights }), weighting: w, stream, ltTrain, ltVal, device: backend.name, dtype: 'float32', tag, resumeCommand: `camels-gpu eval --resume ${run.dir}` },
        cfg,
        lr,
      );
      outcomes.push(r);
    }
    reportSamples = await sampleTokenWeights(tok, stream.documents.slice(0, 3), cfg.max_text_len, [w], backend.name, 'float32');
  } finally {
    dispose();
  }
  writeAtomic(run.path('sweep.csv'), sweepCsv(outcomes));
  console.log(`\n${w.name} on ${stream.documents.length} documents / ${stream.questions.length} questions:`);
  console.log('| lr | EM (ref.) | EM (std.) | F1 | adapt s |');
  console.log('|---|---|---|---|---|');
  for (const r of outcomes) {
    if (r.final) console.log(`| ${r.lr} | ${pct(r.final.em)} | ${pct(r.final.emStandard)} | ${pct(r.final.maxF1.mean)} | ${r.adaptSeconds.toFixed(1)} |`);
    else console.log(`| ${r.lr} | diverged | diverged | diverged | ${r.adaptSeconds.toFixed(1)} |`);
  }
  const finished = outcomes.filter((r) => r.final);
  const report = writeReport(run.path('report.html'), { title: `camels-gpu eval (${w.name})`, runDir: run.dir, table: outcomes, init: outcomes[0]?.init ?? null, metrics: run.readMetrics(), samples: reportSamples, notes: [`device: ${backend.name}`, `learning rates: ${lrs.join(', ')}`, ...outcomes.filter((r) => !r.final).map((r) => `lr ${r.lr}: diverged (${r.diverged?.reason ?? 'non-finite'})`)] });
  console.log(`CSV, summary and report (${report}) in ${run.dir}`);
  if (finished.length === 0) throw new Error(`eval: every learning rate diverged (${lrs.join(', ')}); see ${run.path('sweep.csv')}`);
}
