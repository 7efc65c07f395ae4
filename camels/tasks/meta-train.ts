// Meta-training the CaMeLS weight model (reference spec 2.4): batches of update_batch_size
// documents, exact second-order meta-gradients through sequential SGD, QA + c_kl·KL outer loss,
// gradient accumulation, base carried forward and reset every reset_base_freq documents, Adam on the
// weight model, validation with best-checkpoint selection, periodic checkpoints and resume.

import fs from 'node:fs';
import * as E from '../../engine/index.js';
import type { DType, DeviceName, Tensor } from '../../engine/index.js';
import type { Params } from '../../models/gpt.js';
import type { CausalLM } from '../../models/pretrained.js';
import { openSafetensors, writeSafetensors } from '../../models/safetensors.js';
import type { HfTokenizer } from '../../models/tokenizer.js';
import { padBatch, qaBatch, batchToDevice, type DeviceBatch } from '../batch.js';
import { bool, num, type Config } from '../config.js';
import { Prng } from '../data/rng.js';
import type { QaExample } from '../data/types.js';
import { metaObjective } from '../meta-objective.js';
import { Progress } from '../runs/progress.js';
import type { RunDir } from '../runs/run-dir.js';
import { saveWeightModel, tokenWeights, type CamelsWeightModel } from '../weight-model.js';
import { specialIds, tokenizeDocument, tokenizeQa } from './tokenize.js';

export interface MetaTrainData {
  train: QaExample[];
  val: QaExample[];
  /** Locality passages (OpenWebText); empty disables the KL term. */
  loc: string[];
  locVal: string[];
}

export interface MetaTrainContext {
  run: RunDir;
  tokenizer: HfTokenizer;
  base: CausalLM;
  wm: CamelsWeightModel;
  data: MetaTrainData;
  device: DeviceName;
  dtype: DType;
}

interface ResumeState {
  epoch: number;
  batch: number;
  outerStep: number;
  bestVal: number;
  history: { step: number; val: number }[];
}

export interface MetaTrainResult {
  bestCheckpoint: string;
  lastCheckpoint: string;
  bestVal: number;
  outerSteps: number;
}

/** Device batches of one meta step: documents, their questions, one locality passage. */
function makeMetaBatch(ctx: MetaTrainContext, cfg: Config, rows: QaExample[], loc: string | null) {
  const { pad } = specialIds(ctx.tokenizer);
  const T = num(cfg, 'max_text_len');
  const docs = padBatch(rows.map((r) => tokenizeDocument(ctx.tokenizer, r.document, T).ids), T, pad);
  const qa = qaBatch(rows.map((r) => tokenizeQa(ctx.tokenizer, r, num(cfg, 'max_question_len'), num(cfg, 'max_answer_len'))), num(cfg, 'max_question_len'), pad);
  const locB = loc ? padBatch([tokenizeDocument(ctx.tokenizer, loc, T).ids], T, pad) : null;
  return {
    docs: batchToDevice(docs, ctx.dtype, ctx.device),
    qa: batchToDevice(qa, ctx.dtype, ctx.device),
    loc: locB ? batchToDevice(locB, ctx.dtype, ctx.device) : null,
  };
}

function detachParams(p: Params): Params {
  const out: Params = {};
  for (const [k, t] of Object.entries(p)) {
    const d = E.keep(E.detach(t));
    d.requiresGrad = true;
    out[k] = d;
  }
  return out;
}

function disposeParams(p: Params, keepFrom: Params): void {
  for (const [k, t] of Object.entries(p)) if (keepFrom[k] !== t) t.dispose();
}

async function saveAdam(file: string, opt: E.Adam, names: string[]): Promise<void> {
  const tensors: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  for (let i = 0; i < names.length; i++) {
    for (const [kind, arr] of [['m', opt.m], ['v', opt.v]] as const) {
      const t = arr[i]!;
      const d = await t.data();
      tensors[`${kind}.${names[i]}`] = { dtype: 'float32', shape: [...t.shape], data: d instanceof Float32Array ? d : Float32Array.from(d) };
    }
  }
  writeSafetensors(file, tensors, { step: String(opt.stepCount) });
}

function loadAdam(file: string, opt: E.Adam, names: string[]): void {
  const f = openSafetensors(file);
  try {
    names.forEach((n, i) => {
      for (const [kind, arr] of [['m', opt.m], ['v', opt.v]] as const) {
        const old = arr[i]!;
        arr[i] = E.keep(E.tensor(f.readAsFloat32(`${kind}.${n}`), old.shape, { device: old.device, dtype: old.dtype }));
        old.dispose();
      }
    });
    opt.stepCount = Number(f.metadata.step ?? 0);
  } finally {
    f.close();
  }
}

/** Mean outer loss over the validation split, no meta-gradient (the reference's validate). */
function validate(ctx: MetaTrainContext, cfg: Config, theta0: Params, progressLabel: string): Promise<{ total: number; qa: number; kl: number }> {
  const B = num(cfg, 'update_batch_size');
  const R = num(cfg, 'reset_base_freq') / B;
  const maxBatches = num(cfg, 'val_batches');
  const nb = Math.floor(ctx.data.val.length / B);
  const batches = maxBatches > 0 ? Math.min(nb, maxBatches) : nb;
  const prog = new Progress(progressLabel, batches);
  return (async () => {
    let theta = theta0;
    let sums = { total: 0, qa: 0, kl: 0 };
    for (let b = 0; b < batches; b++) {
      const rows = ctx.data.val.slice(b * B, (b + 1) * B);
      const loc = ctx.data.locVal.length ? ctx.data.locVal[b % ctx.data.locVal.length]! : null;
      const r = await E.tidyAsync(async () => {
        const mb = makeMetaBatch(ctx, cfg, rows, bool(cfg, 'web_text_loc') ? loc : null);
        const w = E.noGrad(() => tokenWeights(ctx.wm, ctx.wm.params, mb.docs.ids, mb.docs.mask));
        const res = metaObjective(ctx.base.config, theta, mb, w, {
          lr: num(cfg, 'inner_lr'),
          steps: num(cfg, 'num_inner_steps'),
          sequential: bool(cfg, 'sequential_update'),
          createGraph: false,
          training: true,
          dropoutSeed: 7919 * b + 1,
          cKl: num(cfg, 'c_kl'),
        });
        return {
          total: await res.total.item(),
          qa: await res.qaLoss.item(),
          kl: res.kl ? await res.kl.item() : 0,
          theta: (b + 1) % R === 0 ? null : detachParams(res.theta),
        };
      });
      if (theta !== theta0) disposeParams(theta, theta0);
      theta = r.theta ?? theta0;
      sums = { total: sums.total + r.total, qa: sums.qa + r.qa, kl: sums.kl + r.kl };
      prog.tick(1, `loss ${r.total.toFixed(4)}`);
    }
    if (theta !== theta0) disposeParams(theta, theta0);
    return { total: sums.total / Math.max(1, batches), qa: sums.qa / Math.max(1, batches), kl: sums.kl / Math.max(1, batches) };
  })();
}

export async function metaTrain(ctx: MetaTrainContext, cfg: Config): Promise<MetaTrainResult> {
  const B = num(cfg, 'update_batch_size');
  const resetFreq = num(cfg, 'reset_base_freq');
  if (resetFreq % B !== 0) throw new Error(`meta-train: reset_base_freq (${resetFreq}) must be a multiple of update_batch_size (${B})`);
  const R = resetFreq / B;
  const gradAcc = num(cfg, 'grad_acc_steps');
  const nEpochs = num(cfg, 'n_epochs');
  const valEvery = num(cfg, 'val_steps') * gradAcc;
  const maxOuter = num(cfg, 'max_outer_steps');
  if (ctx.data.train.length < B) throw new Error(`meta-train: ${ctx.data.train.length} training rows, need at least update_batch_size = ${B}`);
  const names = Object.keys(ctx.wm.params);
  const phi = names.map((n) => ctx.wm.params[n]!);
  const opt = new E.Adam(phi, { lr: num(cfg, 'outer_lr'), maxGradNorm: num(cfg, 'grad_clip_thresh') });
  const theta0 = ctx.base.params;
  const run = ctx.run;
  const bestFile = run.path('checkpoints', 'best.safetensors');
  const lastFile = run.path('checkpoints', 'last.safetensors');
  const adamFile = run.path('checkpoints', 'last.adam.safetensors');

  let state: ResumeState = run.loadState<ResumeState>() ?? { epoch: 0, batch: 0, outerStep: 0, bestVal: Infinity, history: [] };
  if (state.batch > 0 || state.epoch > 0) {
    if (!fs.existsSync(lastFile)) throw new Error(`meta-train --resume: ${lastFile} is missing`);
    const f = openSafetensors(lastFile);
    try {
      for (const n of names) {
        const key = n.startsWith('transformer.') ? `gpt_base.${n.slice('transformer.'.length)}` : n;
        const old = ctx.wm.params[n]!;
        const t = E.keep(E.tensor(f.readAsFloat32(key), old.shape, { device: old.device, dtype: old.dtype, requiresGrad: true, name: n }));
        ctx.wm.params[n] = t;
        opt.params[names.indexOf(n)] = t;
        old.dispose();
      }
    } finally {
      f.close();
    }
    loadAdam(adamFile, opt, names);
    run.log(`resumed at epoch ${state.epoch}, batch ${state.batch}, outer step ${state.outerStep}`);
  }

  const nBatches = Math.floor(ctx.data.train.length / B);
  const stepsTotal = maxOuter > 0 ? maxOuter : Math.ceil((nEpochs * nBatches) / gradAcc);
  const prog = new Progress('meta-train', stepsTotal);
  prog.tick(state.outerStep);
  let theta = theta0;
  let acc: Tensor[] | null = null;
  let locIndex = state.epoch * nBatches + state.batch;

  const checkpoint = async () => {
    await saveWeightModel(ctx.wm, lastFile);
    await saveAdam(adamFile, opt, names);
    run.saveState(state);
  };

  const runValidation = async (i: number) => {
    if (!bool(cfg, 'val') || ctx.data.val.length < B) return;
    const v = await validate(ctx, cfg, theta0, 'validate');
    run.metric({ kind: 'val', epoch: state.epoch, batch: i, outer_step: state.outerStep, total_loss: v.total, qa_loss: v.qa, kl: v.kl });
    run.log(`validation at outer step ${state.outerStep}: total ${v.total.toFixed(5)} (qa ${v.qa.toFixed(5)}, kl ${v.kl.toFixed(5)})`);
    state.history.push({ step: state.outerStep, val: v.total });
    if (v.total < state.bestVal) {
      state.bestVal = v.total;
      await saveWeightModel(ctx.wm, bestFile);
      run.log(`new best validation loss ${v.total.toFixed(5)} → ${bestFile}`);
    }
  };

  outer: for (let epoch = state.epoch; epoch < nEpochs; epoch++) {
    const order = new Prng(num(cfg, 'seed') * 50 + epoch).permutation(ctx.data.train.length);
    for (let i = epoch === state.epoch ? state.batch : 0; i < nBatches; i++) {
      if (i % valEvery === 0) await runValidation(i);
      const rows = order.slice(i * B, (i + 1) * B).map((j) => ctx.data.train[j]!);
      const loc = ctx.data.loc.length && bool(cfg, 'web_text_loc') ? ctx.data.loc[locIndex++ % ctx.data.loc.length]! : null;
      const stepSeed = num(cfg, 'seed') * 1000003 + epoch * nBatches + i;
      const out = await E.tidyAsync(async () => {
        const mb = makeMetaBatch(ctx, cfg, rows, loc);
        // The weight model runs in train mode (dropout on) during meta-training (spec 9.11).
        const w = tokenWeights(ctx.wm, ctx.wm.params, mb.docs.ids, mb.docs.mask, { training: true, dropoutSeed: stepSeed ^ 0x2545f491 });
        const res = metaObjective(ctx.base.config, theta, mb, w, {
          lr: num(cfg, 'inner_lr'),
          steps: num(cfg, 'num_inner_steps'),
          sequential: bool(cfg, 'sequential_update'),
          createGraph: true,
          training: true,
          dropoutSeed: stepSeed,
          cKl: num(cfg, 'c_kl'),
          preLogitsTraining: bool(cfg, 'kl_pre_dropout'),
        });
        const gs = E.grad(E.mulScalar(res.total, 1 / gradAcc), phi);
        const summed = acc ? gs.map((g, j) => E.keep(E.add(acc![j]!, g))) : gs.map((g) => E.keep(g));
        const wMean = E.noGrad(() => E.div(E.sum(w), E.sum(mb.docs.mask)));
        const carry = (i + 1) % R === 0 ? null : detachParams(res.theta);
        return { summed, total: await res.total.item(), qa: await res.qaLoss.item(), kl: res.kl ? await res.kl.item() : 0, wMean: await wMean.item(), carry };
      });
      if (acc) for (const t of acc) t.dispose();
      acc = out.summed;
      if (theta !== theta0) disposeParams(theta, theta0);
      theta = out.carry ?? theta0; // carry the adapted base forward; reset every reset_base_freq documents
      run.metric({ kind: 'train', epoch, batch: i, total_loss: out.total, qa_loss: out.qa, kl: out.kl, mean_weight: out.wMean });
      state.batch = i + 1;
      state.epoch = epoch;
      if ((i + 1) % gradAcc === 0) {
        opt.step(acc);
        for (const t of acc) t.dispose();
        acc = null;
        state.outerStep++;
        prog.tick(1, `loss ${out.total.toFixed(4)} qa ${out.qa.toFixed(4)} w̄ ${out.wMean.toFixed(3)}`);
        // Checkpoint only where nothing else is pending: base reset and no accumulated gradient.
        if (theta === theta0 && state.outerStep % num(cfg, 'checkpoint_every') === 0) await checkpoint();
        if (maxOuter > 0 && state.outerStep >= maxOuter) break outer;
      }
    }
    state = { ...state, epoch: epoch + 1, batch: 0 };
    if (acc) {
      opt.step(acc);
      for (const t of acc) t.dispose();
      acc = null;
    }
    if (theta !== theta0) disposeParams(theta, theta0);
    theta = theta0;
    await checkpoint();
  }
  for (const t of (acc as Tensor[] | null) ?? []) t.dispose();
  if (theta !== theta0) disposeParams(theta, theta0);
  await runValidation(-1);
  await checkpoint();
  prog.finish();
  opt.dispose();
  if (!fs.existsSync(bestFile)) await saveWeightModel(ctx.wm, bestFile);
  return { bestCheckpoint: bestFile, lastCheckpoint: lastFile, bestVal: state.bestVal, outerSteps: state.outerStep };
}

export type { DeviceBatch };
