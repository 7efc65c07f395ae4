// The CaMeLS task commands: qa-train, meta-train (the embedded default with no arguments) and eval,
// each resolving the reference's configuration keys and writing a run directory.

import fs from 'node:fs';
import path from 'node:path';
import { EVAL_DEFAULTS, QA_DEFAULTS, TRAIN_DEFAULTS, bool, num, numList, optStr, resolveConfig, str, type Config } from '../../camels/config.js';
import { RunDir } from '../../camels/runs/run-dir.js';
import { writeReport } from '../../camels/report/report.js';
import { sampleTokenWeights } from '../../camels/report/samples.js';
import { fmt } from '../../camels/runs/progress.js';
import { loadEvalStream, loadLocality, loadRows } from '../../camels/tasks/datasets.js';
import { runDefaultExperiment, seedList } from '../../camels/tasks/default-experiment.js';
import { metaTrain } from '../../camels/tasks/meta-train.js';
import { evaluateOnline, type EvalOutcome } from '../../camels/tasks/online-eval.js';
import { qaLightTune } from '../../camels/tasks/qa-train.js';
import { loadWeightModel, newWeightModel } from '../../camels/weight-model.js';
import { camelsWeighting, ssmWeighting, tfidfWeighting, uniformWeighting, type TokenWeighting } from '../../camels/weighting/weighters.js';
import { disposeModel, loadPretrained, savePretrained } from '../../models/pretrained.js';
import { loadTokenizer } from '../../models/tokenizer.js';
import { probeWebGPU, shutdownDevices, type Tensor } from '../../engine/index.js';
import { setupDevice } from '../device-option.js';

/** The base model dir: base_model_state_dict (a QA-tuned checkpoint dir) wins over base_model. */
function baseDir(cfg: Config): string {
  const dir = optStr(cfg, 'base_model_state_dict') ?? str(cfg, 'base_model');
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new Error(`base model '${dir}' is not a Hugging Face model directory (no config.json); download it first (e.g. huggingface-cli download distilgpt2 --local-dir ...)`);
  return dir;
}

function tokenizerDir(cfg: Config, fallback: string): string {
  return optStr(cfg, 'tokenizer_name') ?? fallback;
}

function startRun(cfg: Config, task: string): RunDir {
  const run = RunDir.create(String(cfg.outputs), task, String(cfg.dataset), optStr(cfg, 'resume'));
  run.writeConfig(cfg);
  console.error(`run directory: ${run.dir}`);
  return run;
}

export async function qaTrainCommand(overrides: string[], flags: Record<string, unknown>): Promise<void> {
  const cfg = resolveConfig(QA_DEFAULTS, overrides, flags);
  if (optStr(cfg, 'resume')) throw new Error('qa-train: resume is not supported (QA tuning is short; start it again, the best checkpoints of the old run stay in its directory)');
  const backend = await setupDevice(String(cfg.device));
  const dir = baseDir(cfg);
  const tok = loadTokenizer(tokenizerDir(cfg, dir));
  const train = loadRows(cfg, 'lt_train');
  const val = loadRows(cfg, 'lt_val');
  const run = startRun(cfg, 'qa_pretraining');
  const model = loadPretrained(dir, { device: backend.name });
  try {
    const r = await qaLightTune(model, tok, train, val, cfg, run, {
      lr: num(cfg, 'lr'),
      batchSize: num(cfg, 'lt_batch_size'),
      gradAcc: num(cfg, 'grad_acc_steps'),
      clip: num(cfg, 'grad_clip_thresh'),
      valSteps: num(cfg, 'val_steps'),
      patience: num(cfg, 'stop_k'),
      metric: String(cfg.stopping_metric),
      maxSteps: num(cfg, 'train_steps'),
      label: 'qa-train',
      saveDir: run.path('checkpoints'),
      valGenerate: num(cfg, 'val_generate'),
    });
    await savePretrained(model, run.path('checkpoints', 'final'));
    console.log(`best ${String(cfg.stopping_metric)} at step ${r.best.step}: nll ${r.best.nll.toFixed(4)}, max_f1 ${r.best.max_f1.toFixed(4)}; checkpoints in ${run.path('checkpoints')}`);
  } finally {
    disposeModel(model);
  }
}

function isDefaultInvocation(overrides: string[]): boolean {
  return overrides.length === 0;
}

export async function metaTrainCommand(overrides: string[], flags: Record<string, unknown>): Promise<void> {
  if (isDefaultInvocation(overrides)) {
    let request = flags.device as string | undefined;
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
    const r = await runDefaultExperiment({
      device: backend.name,
      outputs: String(flags.outputs ?? 'outputs'),
      resume: (flags.resume as string | undefined) ?? null,
      quick: Boolean(flags.quick),
      seeds: flags.seed === undefined && flags.seeds === undefined ? undefined : seedList({ seed: flags.seed === undefined ? undefined : Number(flags.seed), seeds: flags.seeds === undefined ? undefined : Number(flags.seeds) }),
    });
    console.error(`finished in ${fmt(r.seconds)}; run directory ${r.runDir}`);
    return;
  }
  const cfg = resolveConfig(TRAIN_DEFAULTS, overrides, flags);
  if (String(cfg.weight_model) !== 'CaMeLS') throw new Error(`meta-train: only weight_model=CaMeLS is meta-trained (got ${String(cfg.weight_model)})`);
  const backend = await setupDevice(String(cfg.device));
  const dir = baseDir(cfg);
  const tok = loadTokenizer(tokenizerDir(cfg, dir));
  const run = startRun(cfg, 'train');
  const base = loadPretrained(dir, { device: backend.name });
  const bodyDir = optStr(cfg, 'pretrained_model') ?? dir;
  const body = loadPretrained(bodyDir, { device: backend.name });
  const bodyParams: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(body.params)) {
    if (k.startsWith('transformer.')) bodyParams[k] = t;
    else t.dispose();
  }
  const load = optStr(cfg, 'load_checkpoint_path');
  const wm = load
    ? loadWeightModel(load, load.replace(/\.safetensors$/, '') + '.config.json', { device: backend.name })
    : newWeightModel(body.config, body.rawConfig, bodyParams, num(cfg, 'weight_model_hidden'), num(cfg, 'seed'));
  try {
    const r = await metaTrain(
      {
        run,
        tokenizer: tok,
        base,
        wm,
        data: { train: loadRows(cfg, 'train'), val: bool(cfg, 'val') ? loadRows(cfg, 'val') : [], loc: loadLocality(cfg, 'web_text_csv'), locVal: loadLocality(cfg, 'web_text_val_csv') },
        device: backend.name,
        dtype: 'float32',
      },
      cfg,
    );
    const valDocs = loadRows(cfg, bool(cfg, 'val') ? 'val' : 'train').slice(0, 3).map((x) => x.document);
    const samples = await sampleTokenWeights(tok, valDocs, num(cfg, 'max_text_len'), [uniformWeighting(), camelsWeighting(wm)], backend.name, 'float32');
    const report = writeReport(run.path('report.html'), { title: 'camels-gpu meta-train', runDir: run.dir, table: [], init: null, metrics: run.readMetrics(), samples, notes: [`${r.outerSteps} outer steps`, `best validation loss ${r.bestVal.toFixed(4)}`] });
    console.log(`meta-training done: ${r.outerSteps} outer steps; best validation loss ${r.bestVal}; best weight model ${r.bestCheckpoint}; report ${report}`);
  } finally {
    disposeModel(base);
    for (const t of Object.values(wm.params)) t.dispose();
  }
}

function makeWeighting(cfg: Config, tokDir: string, device: 'cpu' | 'webgpu'): { w: TokenWeighting; dispose: () => void } {
  const tok = loadTokenizer(tokDir);
  const name = String(cfg.weight_model);
  switch (name.toLowerCase()) {
    case 'uniform':
      return { w: uniformWeighting(), dispose: () => {} };
    case 'ssm':
      return { w: ssmWeighting(tok), dispose: () => {} };
    case 'tfidf': {
      const corpusPath = optStr(cfg, 'tfidf_corpus');
      const corpus = corpusPath ? loadRows({ ...cfg, test_path: corpusPath }, 'test').map((r) => r.document) : loadEvalStream({ ...cfg, downsample_to: -1 }).documents;
      const q = num(cfg, 'min_threshold');
      return { w: tfidfWeighting(tok, corpus, q > 0 ? q : null), dispose: () => {} };
    }
    case 'camels': {
      const p = str(cfg, 'weight_model_path');
      const wm = loadWeightModel(p, p.replace(/\.safetensors$/, '') + '.config.json', { device });
      return { w: camelsWeighting(wm), dispose: () => Object.values(wm.params).forEach((t) => t.dispose()) };
    }
    default:
      throw new Error(`eval: unknown weight_model '${name}' (uniform, ssm, tfidf, CaMeLS)`);
  }
}

export async function evalCommand(overrides: string[], flags: Record<string, unknown>): Promise<void> {
  const cfg = resolveConfig(EVAL_DEFAULTS, overrides, flags);
  const backend = await setupDevice(String(cfg.device));
  const dir = baseDir(cfg);
  const tokDir = tokenizerDir(cfg, dir);
  const tok = loadTokenizer(tokDir);
  const stream = loadEvalStream(cfg);
  const run = startRun(cfg, 'eval');
  const { w, dispose } = makeWeighting(cfg, tokDir, backend.name);
  const lrs = numList(cfg, 'lr');
  const ltTrain = bool(cfg, 'qa_lt_final') ? loadRows(cfg, 'lt_train') : undefined;
  const ltVal = bool(cfg, 'qa_lt_final') ? loadRows(cfg, 'lt_val') : undefined;
  const outcomes: EvalOutcome[] = [];
  let reportSamples: Awaited<ReturnType<typeof sampleTokenWeights>> = [];
  try {
    for (const lr of lrs) {
      const r = await evaluateOnline(
        { run, tokenizer: tok, loadBase: () => loadPretrained(dir, { device: backend.name }), weighting: w, stream, ltTrain, ltVal, device: backend.name, dtype: 'float32', tag: lrs.length > 1 ? `lr${lr}-` : '' },
        cfg,
        lr,
      );
      outcomes.push(r);
    }
    reportSamples = await sampleTokenWeights(tok, stream.documents.slice(0, 3), num(cfg, 'max_text_len'), [w], backend.name, 'float32');
  } finally {
    dispose();
  }
  console.log(`\n${w.name} on ${stream.documents.length} documents / ${stream.questions.length} questions:`);
  console.log('| lr | EM (ref.) | EM (std.) | F1 | adapt s |');
  console.log('|---|---|---|---|---|');
  for (const r of outcomes) console.log(`| ${r.lr} | ${(100 * r.final.em).toFixed(2)} | ${(100 * r.final.emStandard).toFixed(2)} | ${(100 * r.final.maxF1.mean).toFixed(2)} | ${r.adaptSeconds.toFixed(1)} |`);
  const report = writeReport(run.path('report.html'), { title: `camels-gpu eval (${w.name})`, runDir: run.dir, table: outcomes, init: outcomes[0]?.init ?? null, metrics: run.readMetrics(), samples: reportSamples, notes: [`device: ${backend.name}`, `learning rates: ${lrs.join(', ')}`] });
  console.log(`CSV, summary and report (${report}) in ${run.dir}`);
}
