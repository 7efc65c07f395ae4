// Meta-training the CaMeLS weight model (reference spec 2.4): batches of update_batch_size
// documents, exact second-order meta-gradients through sequential SGD, QA + c_kl·KL (+ c_norm·‖w‖)
// outer loss, gradient accumulation, base carried forward and reset every reset_base_freq documents,
// Adam on the weight model, validation with best-checkpoint selection. Checkpoints are whole units
// (camels/runs/checkpoint.ts) from which a resume continues bit-identically; SIGINT/SIGTERM write one
// and stop; a non-finite loss or gradient norm stops the run before anything non-finite is saved.

import fs from 'node:fs';
import path from 'node:path';
import * as E from '../../engine/index.js';
import type { DType, DeviceName, Tensor } from '../../engine/index.js';
import type { Params } from '../../models/gpt.js';
import type { CausalLM } from '../../models/pretrained.js';
import type { HfTokenizer } from '../../models/tokenizer.js';
import { padBatch, qaBatch, batchToDevice, type DeviceBatch } from '../batch.js';
import type { TrainConfig } from '../config.js';
import { Prng } from '../data/rng.js';
import type { QaExample } from '../data/types.js';
import { metaObjective, type MetaOptions } from '../meta-objective.js';
import { loadAdamState, loadTensorFile, saveAdamState, saveTensorFile } from '../runs/checkpoint.js';
import { crashPoint } from '../runs/crash-points.js';
import { checkFinite, squaredNorm } from '../runs/guards.js';
import { Interrupted, pollInterrupt } from '../runs/interrupt.js';
import { Progress } from '../runs/progress.js';
import type { RunDir } from '../runs/run-dir.js';
import { saveWeightModel, tokenWeights, type CamelsWeightModel } from '../weight-model.js';
import { LateReads } from './late-reads.js';
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
  /** How to continue this run after an interruption (printed with the checkpoint). */
  resumeCommand?: string;
}

/** Everything besides tensors that a resume needs (state.json of a checkpoint). */
interface MetaState {
  epoch: number;
  /** Next batch of `epoch` to run. */
  batch: number;
  outerStep: number;
  bestVal: number | null;
  history: { step: number; val: number }[];
  /** Outer steps done when the last checkpoint was written. */
  checkpointStep: number;
  /** The final validation ran (the run is complete for its max_outer_steps / n_epochs). */
  finalValidated: boolean;
  metricsBytes: number;
  /** The adapted base θ carried into the next batch is saved beside (carry.safetensors). */
  carry: boolean;
  /** Accumulated meta-gradients (acc.safetensors). */
  acc: boolean;
}

export interface MetaTrainResult {
  bestCheckpoint: string;
  lastCheckpoint: string;
  bestVal: number;
  outerSteps: number;
  /** Validation loss by outer step. */
  history: { step: number; val: number }[];
}

/** The one place the inner-loop / outer-objective options come from the config. */
export function metaOptions(cfg: TrainConfig, mode: { createGraph: boolean; dropoutSeed: number }): MetaOptions {
  return {
    lr: cfg.inner_lr,
    steps: cfg.num_inner_steps,
    sequential: cfg.sequential_update,
    createGraph: mode.createGraph,
    training: true,
    dropoutSeed: mode.dropoutSeed,
    cKl: cfg.c_kl,
    preLogitsTraining: cfg.kl_pre_dropout,
  };
}

/** The reference's weight-norm regulariser: (mean over real tokens of |w − o|^p)^(1/p), o = 1 or 0. */
export function weightNorm(w: Tensor, mask: Tensor, cfg: Pick<TrainConfig, 'norm' | 'norm_from_one'>): Tensor {
  const centred = cfg.norm_from_one ? E.addScalar(w, -1) : w;
  const powered = E.mul(E.powScalar(E.abs(centred), cfg.norm), mask);
  return E.powScalar(E.div(E.sum(powered), E.sum(mask)), 1 / cfg.norm);
}

/** Device batches of one meta step: documents, their questions, loc_batch_size locality passages. */
function makeMetaBatch(ctx: MetaTrainContext, cfg: TrainConfig, rows: QaExample[], loc: string[]) {
  const { pad } = specialIds(ctx.tokenizer);
  const T = cfg.max_text_len;
  const docs = padBatch(rows.map((r) => tokenizeDocument(ctx.tokenizer, r.document, T).ids), T, pad);
  const qa = qaBatch(rows.map((r) => tokenizeQa(ctx.tokenizer, r, cfg.max_question_len, cfg.max_answer_len)), cfg.max_question_len, pad);
  const locB = loc.length ? padBatch(loc.map((p) => tokenizeDocument(ctx.tokenizer, p, T).ids), T, pad) : null;
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

/** Read several device scalars with one readback. */
async function readScalars(xs: Tensor[]): Promise<number[]> {
  const packed = E.concat(xs.map((x) => E.reshape(x, [1])), 0);
  return Array.from(await packed.data());
}

/** Mean outer loss over the validation split, no meta-gradient (the reference's validate); null if interrupted. */
async function validate(ctx: MetaTrainContext, cfg: TrainConfig, theta0: Params): Promise<{ total: number; qa: number; kl: number } | null> {
  const B = cfg.update_batch_size;
  const R = cfg.reset_base_freq / B;
  const nb = Math.floor(ctx.data.val.length / B);
  const batches = cfg.val_batches > 0 ? Math.min(nb, cfg.val_batches) : nb;
  const prog = new Progress('validate', batches);
  let theta = theta0;
  let sums = { total: 0, qa: 0, kl: 0 };
  try {
    for (let b = 0; b < batches; b++) {
      if (await pollInterrupt()) return null;
      const rows = ctx.data.val.slice(b * B, (b + 1) * B);
      const loc = cfg.web_text_loc && ctx.data.locVal.length ? Array.from({ length: cfg.loc_batch_size }, (_, j) => ctx.data.locVal[(b * cfg.loc_batch_size + j) % ctx.data.locVal.length]!) : [];
      const r = await E.tidyAsync(async () => {
        const mb = makeMetaBatch(ctx, cfg, rows, loc);
        const w = E.noGrad(() => tokenWeights(ctx.wm, ctx.wm.params, mb.docs.ids, mb.docs.mask));
        const res = metaObjective(ctx.base.config, theta, mb, w, metaOptions(cfg, { createGraph: false, dropoutSeed: 7919 * b + 1 }));
        const [total, qa, kl] = await readScalars([res.total, res.qaLoss, res.kl ?? E.zeros([], { device: ctx.device, dtype: ctx.dtype })]);
        return { total: total!, qa: qa!, kl: kl!, theta: (b + 1) % R === 0 ? null : detachParams(res.theta) };
      });
      if (theta !== theta0) disposeParams(theta, theta0);
      theta = r.theta ?? theta0;
      sums = { total: sums.total + r.total, qa: sums.qa + r.qa, kl: sums.kl + r.kl };
      prog.tick(1, `loss ${r.total.toFixed(4)}`);
    }
  } finally {
    if (theta !== theta0) disposeParams(theta, theta0);
  }
  const n = Math.max(1, batches);
  return { total: sums.total / n, qa: sums.qa / n, kl: sums.kl / n };
}

/** Weight-model parameters keyed as saved (gpt_base.* for the body). */
function savedName(n: string): string {
  return n.startsWith('transformer.') ? `gpt_base.${n.slice('transformer.'.length)}` : n;
}

export async function metaTrain(ctx: MetaTrainContext, cfg: TrainConfig): Promise<MetaTrainResult> {
  const B = cfg.update_batch_size;
  if (cfg.reset_base_freq % B !== 0) throw new Error(`meta-train: reset_base_freq (${cfg.reset_base_freq}) must be a multiple of update_batch_size (${B})`);
  const R = cfg.reset_base_freq / B;
  const gradAcc = cfg.grad_acc_steps;
  const valEvery = cfg.val_steps * gradAcc;
  const maxOuter = cfg.max_outer_steps;
  if (ctx.data.train.length < B) throw new Error(`meta-train: ${ctx.data.train.length} training rows, need at least update_batch_size = ${B}`);
  const run = ctx.run;
  const store = run.checkpoints;
  const bestFile = run.path('checkpoints', 'best.safetensors');
  const names = Object.keys(ctx.wm.params);
  const theta0 = ctx.base.params;
  const settings = { inner_lr: cfg.inner_lr, outer_lr: cfg.outer_lr };
  const resumeCommand = ctx.resumeCommand ?? `camels-gpu meta-train --resume ${run.dir}`;

  // Resume: the latest checkpoint replaces the weight model before the optimizer takes its parameters.
  let state: MetaState = { epoch: 0, batch: 0, outerStep: 0, bestVal: null, history: [], checkpointStep: 0, finalValidated: false, metricsBytes: 0, carry: false, acc: false };
  const latest = store.latest();
  let theta = theta0;
  let acc: Tensor[] | null = null;
  if (latest) {
    state = JSON.parse(fs.readFileSync(path.join(latest, 'state.json'), 'utf8')) as MetaState;
    const like: Record<string, Tensor> = {};
    for (const n of names) like[savedName(n)] = ctx.wm.params[n]!;
    const { tensors } = loadTensorFile(path.join(latest, 'weight_model.safetensors'), like, { requiresGrad: true });
    for (const n of names) {
      ctx.wm.params[n]!.dispose();
      ctx.wm.params[n] = tensors[savedName(n)]!;
    }
    if (state.carry) theta = loadTensorFile(path.join(latest, 'carry.safetensors'), theta0, { requiresGrad: true }).tensors;
    if (state.acc) {
      const likeAcc = Object.fromEntries(names.map((n) => [n, ctx.wm.params[n]!]));
      const t = loadTensorFile(path.join(latest, 'acc.safetensors'), likeAcc, { requiresGrad: false }).tensors;
      acc = names.map((n) => t[n]!);
    }
    run.truncateMetrics(state.metricsBytes);
    run.log(`resumed from ${latest}: epoch ${state.epoch}, batch ${state.batch}, outer step ${state.outerStep}`);
    console.error(`meta-train: resuming at outer step ${state.outerStep} (epoch ${state.epoch}, batch ${state.batch}) from ${latest}`);
  } else {
    run.truncateMetrics(0);
  }
  const phi = names.map((n) => ctx.wm.params[n]!);
  const opt = new E.Adam(phi, { lr: cfg.outer_lr, maxGradNorm: cfg.grad_clip_thresh });
  if (latest) loadAdamState(path.join(latest, 'adam.safetensors'), opt, names);

  const nBatches = Math.floor(ctx.data.train.length / B);
  const stepsTotal = maxOuter > 0 ? maxOuter : Math.ceil((cfg.n_epochs * nBatches) / gradAcc);
  const prog = new Progress('meta-train', stepsTotal);
  prog.tick(state.outerStep);

  // Each step's scalars are read one step late; flushed before checkpoints, validation and the end.
  const late = new LateReads();
  const checkpoint = async () => {
    await late.flush();
    state.metricsBytes = run.metricsBytes();
    state.carry = theta !== theta0;
    state.acc = acc !== null;
    state.checkpointStep = state.outerStep;
    const dir = await store.commit(async (tmp) => {
      await saveWeightModel(ctx.wm, path.join(tmp, 'weight_model.safetensors'));
      crashPoint('checkpoint:weights-written');
      await saveAdamState(path.join(tmp, 'adam.safetensors'), opt, names);
      if (state.carry) await saveTensorFile(path.join(tmp, 'carry.safetensors'), theta, 'the carried base model');
      if (acc) await saveTensorFile(path.join(tmp, 'acc.safetensors'), Object.fromEntries(names.map((n, j) => [n, acc![j]!])), 'the accumulated meta-gradient');
      fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(state, null, 2));
    });
    run.log(`checkpoint at outer step ${state.outerStep} (epoch ${state.epoch}, batch ${state.batch}): ${dir}`);
    return dir;
  };
  const stopIfInterrupted = async () => {
    const sig = await pollInterrupt();
    if (!sig) return;
    const dir = await checkpoint();
    run.log(`interrupted by ${sig}; checkpoint ${dir}`);
    throw new Interrupted(sig, run.dir, resumeCommand);
  };
  const lastGood = () => store.latest();

  /** Validation; false when interrupted (nothing recorded, it reruns on resume). */
  const runValidation = async (i: number): Promise<boolean> => {
    await late.flush();
    if (!cfg.val || ctx.data.val.length < B) return true;
    const v = await validate(ctx, cfg, theta0);
    if (!v) return false;
    checkFinite({ 'validation loss': v.total }, { task: 'meta-train', step: state.outerStep, settings, lastGood: lastGood() });
    run.metric({ kind: 'val', epoch: state.epoch, batch: i, outer_step: state.outerStep, total_loss: v.total, qa_loss: v.qa, kl: v.kl });
    run.log(`validation at outer step ${state.outerStep}: total ${v.total.toFixed(5)} (qa ${v.qa.toFixed(5)}, kl ${v.kl.toFixed(5)})`);
    state.history.push({ step: state.outerStep, val: v.total });
    if (state.bestVal === null || v.total < state.bestVal) {
      state.bestVal = v.total;
      await saveWeightModel(ctx.wm, bestFile);
      run.log(`new best validation loss ${v.total.toFixed(5)} → ${bestFile}`);
    }
    return true;
  };

  const done = () => (maxOuter > 0 && state.outerStep >= maxOuter) || state.epoch >= cfg.n_epochs;
  try {
    outer: while (!done()) {
      const epoch = state.epoch;
      const order = new Prng(cfg.seed * 50 + epoch).permutation(ctx.data.train.length);
      for (let i = state.batch; i < nBatches; i++) {
        await stopIfInterrupted();
        if (i % valEvery === 0 && !(await runValidation(i))) await stopIfInterrupted();
        const rows = order.slice(i * B, (i + 1) * B).map((j) => ctx.data.train[j]!);
        const locStart = (epoch * nBatches + i) * cfg.loc_batch_size;
        const loc = cfg.web_text_loc && ctx.data.loc.length ? Array.from({ length: cfg.loc_batch_size }, (_, j) => ctx.data.loc[(locStart + j) % ctx.data.loc.length]!) : [];
        const stepSeed = cfg.seed * 1000003 + epoch * nBatches + i;
        const stepEnds = (i + 1) % gradAcc === 0;
        const out = await E.tidyAsync(async () => {
          const mb = makeMetaBatch(ctx, cfg, rows, loc);
          // The weight model runs in train mode (dropout on) during meta-training (spec 9.11).
          const w = tokenWeights(ctx.wm, ctx.wm.params, mb.docs.ids, mb.docs.mask, { training: true, dropoutSeed: stepSeed ^ 0x2545f491 });
          const res = metaObjective(ctx.base.config, theta, mb, w, { ...metaOptions(cfg, { createGraph: true, dropoutSeed: stepSeed }) });
          const wNorm = weightNorm(w, mb.docs.mask, cfg);
          const total = cfg.c_norm > 0 ? E.add(res.total, E.mulScalar(wNorm, cfg.c_norm)) : res.total;
          const gs = E.grad(E.mulScalar(total, 1 / gradAcc), phi);
          const summed = acc ? gs.map((g, j) => E.keep(E.add(acc![j]!, g))) : gs.map((g) => E.keep(g));
          const wMean = E.noGrad(() => E.div(E.sum(w), E.sum(mb.docs.mask)));
          const zero = E.zeros([], { device: ctx.device, dtype: ctx.dtype });
          const gn2 = stepEnds ? E.noGrad(() => squaredNorm(summed)) : zero;
          // one readback of the step's scalars, started now and awaited after the next step is recorded
          const scalars = E.readLater([total, res.qaLoss, res.kl ?? zero, wMean, E.noGrad(() => E.detach(wNorm)), gn2]);
          const carry = (i + 1) % R === 0 ? null : detachParams(res.theta);
          return { summed, scalars, carry };
        });
        if (acc) for (const t of acc) t.dispose();
        acc = out.summed;
        if (theta !== theta0) disposeParams(theta, theta0);
        theta = out.carry ?? theta0; // carry the adapted base forward; reset every reset_base_freq documents
        const guardStep = state.outerStep + 1;
        const guardLastGood = lastGood();
        const stepValues = ([total, qa, kl, wMean, wNorm, g2]: number[]) => {
          const finite = { 'outer loss': total!, ...(stepEnds ? { 'meta-gradient norm': Math.sqrt(g2!) } : {}) };
          checkFinite(finite, { task: 'meta-train', step: guardStep, settings, lastGood: guardLastGood });
          run.metric({ kind: 'train', epoch, batch: i, total_loss: total, qa_loss: qa, kl, mean_weight: wMean, weight_norm: wNorm });
          if (stepEnds) prog.tick(1, `loss ${total!.toFixed(4)} qa ${qa!.toFixed(4)} w̄ ${wMean!.toFixed(3)}`);
        };
        await late.push(out.scalars, stepValues);
        state.batch = i + 1;
        crashPoint('meta-train:batch-done');
        if (stepEnds) {
          opt.step(acc);
          for (const t of acc) t.dispose();
          acc = null;
          state.outerStep++;
          state.finalValidated = false;
          // Periodic checkpoints where nothing else is pending (base reset, no accumulated gradient).
          if (theta === theta0 && state.outerStep - state.checkpointStep >= cfg.checkpoint_every) await checkpoint();
          if (maxOuter > 0 && state.outerStep >= maxOuter) break outer;
        }
      }
      // End of epoch: the leftover accumulated gradient is applied, the base reset.
      if (acc) {
        opt.step(acc);
        for (const t of acc) t.dispose();
        acc = null;
      }
      if (theta !== theta0) disposeParams(theta, theta0);
      theta = theta0;
      state.epoch = epoch + 1;
      state.batch = 0;
      await checkpoint();
    }
    if (!state.finalValidated) {
      await stopIfInterrupted();
      if (!(await runValidation(-1))) await stopIfInterrupted();
      state.finalValidated = true;
      await checkpoint();
    }
    await late.flush();
  } finally {
    for (const t of (acc as Tensor[] | null) ?? []) t.dispose();
    if (theta !== theta0) disposeParams(theta, theta0);
    opt.dispose();
  }
  prog.finish();
  if (!fs.existsSync(bestFile)) await saveWeightModel(ctx.wm, bestFile);
  const last = store.latest()!;
  return { bestCheckpoint: bestFile, lastCheckpoint: path.join(last, 'weight_model.safetensors'), bestVal: state.bestVal ?? NaN, outerSteps: state.outerStep, history: state.history };
}

export type { DeviceBatch };
