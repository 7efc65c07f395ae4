// QA fine-tuning with early stopping (reference spec 3.3 and 4): question → ' ' + answer + EOS with
// the loss on the answer, Adam with clipping and gradient accumulation, validation every val_steps
// optimizer steps (step 0 included) by answer NLL and greedy-decoded EM/F1, patience on a stopping
// metric, best weights restored at the end; optionally the best checkpoints saved as HF model dirs.
// As a task (qa-train) it checkpoints after every validation and on SIGINT/SIGTERM, and resumes
// bit-identically; a non-finite loss or gradient norm stops it (checked with the readbacks it makes).

import fs from 'node:fs';
import path from 'node:path';
import * as E from '../../engine/index.js';
import type { CausalLM } from '../../models/pretrained.js';
import { savePretrained } from '../../models/pretrained.js';
import { openSafetensors, writeSafetensors } from '../../models/safetensors.js';
import type { HfTokenizer } from '../../models/tokenizer.js';
import { qaBatch, batchToDevice } from '../batch.js';
import type { CommonConfig } from '../config.js';
import { Prng } from '../data/rng.js';
import type { QaExample } from '../data/types.js';
import { qaLoss } from '../losses.js';
import { scoreQuestion, summarizeScores } from '../metrics.js';
import { loadAdamState, loadTensorFile, saveAdamState, saveTensorFile } from '../runs/checkpoint.js';
import { checkFinite, countNonFinite } from '../runs/guards.js';
import { Interrupted, pollInterrupt } from '../runs/interrupt.js';
import { Progress } from '../runs/progress.js';
import { writeDirAtomic, type RunDir } from '../runs/run-dir.js';
import { answerQuestions } from './answer.js';
import { LateReads } from './late-reads.js';
import { specialIds, tokenizeQa } from './tokenize.js';

export type StopMetric = 'nll' | 'max_f1' | 'avg_f1' | 'exact_match';
/** The keys QA tuning reads from a task config. */
export type QaTuneConfig = Pick<CommonConfig, 'seed' | 'max_question_len' | 'max_answer_len'>;

export interface LightTuneOptions {
  lr: number;
  batchSize: number;
  gradAcc: number;
  clip: number;
  /** Optimizer steps between validations. */
  valSteps: number;
  patience: number;
  metric: string;
  maxSteps: number;
  label: string;
  /** Save best_<metric> HF model dirs here (QA pre-training). */
  saveDir?: string;
  /** Questions decoded per validation for EM/F1 (-1 = all). */
  valGenerate?: number;
  /** Train the answer followed by EOS (qa_eos; default true). */
  eos?: boolean;
  /** Checkpoint into run.checkpoints after each validation and on a signal, and resume from it (the qa-train task). */
  checkpoints?: boolean;
  /** Printed with an interruption. */
  resumeCommand?: string;
}

export interface ValMetrics {
  step: number;
  nll: number;
  exact_match: number;
  avg_f1: number;
  max_f1: number;
}

const higherIsBetter = (m: StopMetric) => m !== 'nll';

/** Token-weighted mean answer NLL and greedy EM/F1 on the validation questions. */
export async function qaValidate(model: CausalLM, tok: HfTokenizer, val: QaExample[], cfg: QaTuneConfig, batchSize: number, generateLimit: number, eos = true): Promise<Omit<ValMetrics, 'step'>> {
  const { pad } = specialIds(tok);
  const Tq = cfg.max_question_len;
  let nllSum = 0;
  let count = 0;
  for (let i = 0; i < val.length; i += batchSize) {
    const rows = val.slice(i, i + batchSize).map((r) => tokenizeQa(tok, r, Tq, cfg.max_answer_len, eos));
    const hb = qaBatch(rows, Tq, pad);
    const n = hb.labels!.slice().filter((_, j) => j % hb.T !== 0 && hb.labels![j] !== -100).length;
    const l = await E.tidyAsync(async () => E.noGrad(() => qaLoss(model.config, model.params, batchToDevice(hb, model.dtype, model.device))).item());
    nllSum += l * n;
    count += n;
  }
  const gen = generateLimit < 0 ? val : val.slice(0, generateLimit);
  let em = 0;
  let avgF1 = NaN;
  let maxF1 = NaN;
  if (gen.length) {
    const preds = await answerQuestions(model, tok, gen, { maxNewTokens: 16, numBeams: 1, numBeamGroups: 1, diversityPenalty: 0, eosTokenId: specialIds(tok).eos, padTokenId: pad }, 'validate (greedy)', cfg.max_answer_len);
    const scores = gen.map((q, j) => scoreQuestion(q.question, preds[j]!.gold, preds[j]!.predictions));
    const s = summarizeScores(scores);
    em = s.emCorrect;
    avgF1 = s.avgF1.mean;
    maxF1 = s.maxF1.mean;
  }
  return { nll: nllSum / Math.max(1, count), exact_match: em, avg_f1: avgF1, max_f1: maxF1 };
}

/** The reference's patience rule: stop when the best before the last k validations beats the best of the last k. */
export function shouldStop(values: number[], patience: number, higher: boolean): boolean {
  if (values.length <= patience) return false;
  const before = values.slice(0, values.length - patience);
  const last = values.slice(values.length - patience);
  const best = (xs: number[]) => (higher ? Math.max(...xs) : Math.min(...xs));
  return higher ? best(before) > best(last) : best(before) < best(last);
}

async function snapshot(model: CausalLM): Promise<Map<string, Float32Array>> {
  const m = new Map<string, Float32Array>();
  for (const [k, t] of Object.entries(model.params)) {
    const d = await t.data();
    m.set(k, d instanceof Float32Array ? d : Float32Array.from(d));
  }
  return m;
}

function restore(model: CausalLM, snap: Map<string, Float32Array>): void {
  for (const [k, data] of snap) {
    const old = model.params[k]!;
    model.params[k] = E.keep(E.tensor(data, old.shape, { dtype: old.dtype, device: old.device, requiresGrad: true, name: k }));
    old.dispose();
  }
}

/** The loop's position and records: state.json of a qa-train checkpoint. */
interface TuneState {
  stepCount: number;
  micro: number;
  /** Passes over the training pairs begun so far. */
  pass: number;
  /** Seed of the current pass's order (null: a new pass starts next). */
  passSeed: number | null;
  /** Next position in the current pass's order. */
  pos: number;
  history: ValMetrics[];
  best: Partial<Record<StopMetric, ValMetrics>>;
  validatedInitial: boolean;
  stopped: boolean;
  hasBestSnapshot: boolean;
  hasAcc: boolean;
  metricsBytes: number;
}

/** Fine-tune `model` in place on QA pairs with early stopping; the best weights are restored. */
export async function qaLightTune(model: CausalLM, tok: HfTokenizer, train: QaExample[], val: QaExample[], cfg: QaTuneConfig, run: RunDir, opts: LightTuneOptions): Promise<{ history: ValMetrics[]; best: ValMetrics }> {
  const metric = opts.metric as StopMetric;
  if (!['nll', 'max_f1', 'avg_f1', 'exact_match'].includes(metric)) throw new Error(`qa-train: unknown stopping metric '${opts.metric}' (nll, max_f1, avg_f1, exact_match)`);
  if (train.length === 0 || val.length === 0) throw new Error(`${opts.label}: empty ${train.length === 0 ? 'training' : 'validation'} set`);
  if (train.length < opts.batchSize) throw new Error(`${opts.label}: ${train.length} training pairs, fewer than one batch (batch size ${opts.batchSize})`);
  const { pad } = specialIds(tok);
  const eos = opts.eos ?? true;
  const Tq = cfg.max_question_len;
  const names = Object.keys(model.params);
  const seed = cfg.seed;
  const settings = { lr: opts.lr };
  const store = run.checkpoints;
  const resumeCommand = opts.resumeCommand ?? `camels-gpu qa-train --resume ${run.dir}`;

  let st: TuneState = { stepCount: 0, micro: 0, pass: 0, passSeed: null, pos: 0, history: [], best: {}, validatedInitial: false, stopped: false, hasBestSnapshot: false, hasAcc: false, metricsBytes: 0 };
  let bestSnap: Map<string, Float32Array> | null = null;
  let acc: E.Tensor[] | null = null;
  const latest = opts.checkpoints ? store.latest() : null;
  if (latest) {
    st = JSON.parse(fs.readFileSync(path.join(latest, 'state.json'), 'utf8')) as TuneState;
    const { tensors } = loadTensorFile(path.join(latest, 'model.safetensors'), model.params, { requiresGrad: true });
    for (const n of names) {
      model.params[n]!.dispose();
      model.params[n] = tensors[n]!;
    }
    if (st.hasBestSnapshot) {
      const f = openSafetensors(path.join(latest, 'best.safetensors'));
      try {
        bestSnap = new Map(names.map((n) => [n, f.readAsFloat32(n)]));
      } finally {
        f.close();
      }
    }
    if (st.hasAcc) {
      const t = loadTensorFile(path.join(latest, 'acc.safetensors'), model.params, { requiresGrad: false }).tensors;
      acc = names.map((n) => t[n]!);
    }
    run.truncateMetrics(st.metricsBytes);
    run.log(`${opts.label}: resumed from ${latest} at step ${st.stepCount}`);
    console.error(`${opts.label}: resuming at step ${st.stepCount} from ${latest}`);
  } else if (opts.checkpoints) run.truncateMetrics(0);
  const opt = new E.Adam(names.map((n) => model.params[n]!), { lr: opts.lr, maxGradNorm: opts.clip });
  if (latest) loadAdamState(path.join(latest, 'adam.safetensors'), opt, names);
  // Σ (x − x) over every loss and gradient norm since the last readback: NaN once any was NaN or ±Inf.
  let guard = E.keep(E.zeros([], { device: model.device, dtype: model.dtype }));
  const prog = new Progress(opts.label, opts.maxSteps < 1e6 ? opts.maxSteps : opts.valSteps * (opts.patience + 1));
  prog.tick(st.stepCount);

  // Loss and guard readbacks land one step late; flushed before checkpoints, guards and validation.
  const late = new LateReads();
  const checkpoint = async (): Promise<string> => {
    await late.flush();
    st.metricsBytes = run.metricsBytes();
    st.hasBestSnapshot = bestSnap !== null;
    st.hasAcc = acc !== null;
    const dir = await store.commit(async (tmp) => {
      await saveTensorFile(path.join(tmp, 'model.safetensors'), model.params, 'the model');
      await saveAdamState(path.join(tmp, 'adam.safetensors'), opt, names);
      if (acc) await saveTensorFile(path.join(tmp, 'acc.safetensors'), Object.fromEntries(names.map((n, j) => [n, acc![j]!])), 'the accumulated gradient');
      if (bestSnap) writeSafetensors(path.join(tmp, 'best.safetensors'), Object.fromEntries(names.map((n) => [n, { dtype: 'float32' as const, shape: [...model.params[n]!.shape], data: bestSnap!.get(n)! }])));
      fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(st, null, 2));
    });
    run.log(`${opts.label}: checkpoint at step ${st.stepCount}: ${dir}`);
    return dir;
  };
  const lastGood = () => (opts.checkpoints ? store.latest() : null);
  const checkGuard = async () => {
    await late.flush();
    checkFinite({ 'training loss or gradient norm': await guard.item() }, { task: opts.label, step: st.stepCount, settings, lastGood: lastGood() });
  };
  const stopIfInterrupted = async () => {
    const sig = await pollInterrupt();
    if (!sig) return;
    if (opts.checkpoints) {
      await checkGuard();
      await checkpoint();
    }
    throw new Interrupted(sig, run.dir, resumeCommand);
  };

  const better = (m: StopMetric, a: number, b: number | undefined) => b === undefined || Number.isNaN(b) || (higherIsBetter(m) ? a > b : a < b);
  const validateNow = async (): Promise<boolean> => {
    await checkGuard();
    const v = { step: st.stepCount, ...(await qaValidate(model, tok, val, cfg, opts.batchSize, opts.valGenerate ?? -1, eos)) };
    checkFinite({ 'validation NLL': v.nll }, { task: opts.label, step: st.stepCount, settings, lastGood: lastGood() });
    st.history.push(v);
    run.metric({ kind: `${opts.label}-val`, ...v });
    run.log(`${opts.label} step ${st.stepCount}: nll ${v.nll.toFixed(4)} em ${v.exact_match} avg_f1 ${v.avg_f1.toFixed(4)} max_f1 ${v.max_f1.toFixed(4)}`);
    prog.note(`nll ${v.nll.toFixed(3)} f1 ${Number.isNaN(v.max_f1) ? '-' : v.max_f1.toFixed(3)}`);
    for (const m of ['nll', 'max_f1', 'exact_match'] as StopMetric[]) {
      if (Number.isNaN(v[m])) continue;
      if (better(m, v[m], st.best[m]?.[m])) {
        st.best[m] = v;
        if (opts.saveDir) {
          const dir = path.join(opts.saveDir, `best_${m}`);
          await writeDirAtomic(dir, async (tmp) => {
            await savePretrained(model, tmp);
            for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
              const src = path.join(tok.dir, f);
              if (fs.existsSync(src)) fs.copyFileSync(src, path.join(tmp, f));
            }
          });
        }
      }
    }
    if (st.best[metric] === v || (bestSnap === null && st.history.length === 1)) bestSnap = await snapshot(model);
    // If the stopping metric never changed (e.g. F1 stuck at 0), fall back to NLL (reference behaviour).
    const vals = st.history.map((h) => h[metric]);
    const flat = vals.every((x) => x === vals[0]) || vals.some((x) => Number.isNaN(x));
    return flat ? shouldStop(st.history.map((h) => h.nll), opts.patience, false) : shouldStop(vals, opts.patience, higherIsBetter(metric));
  };

  try {
    if (!st.validatedInitial) {
      st.stopped = await validateNow();
      st.validatedInitial = true;
      if (opts.checkpoints) await checkpoint();
    }
    while (!st.stopped && st.stepCount < opts.maxSteps) {
      if (st.passSeed === null) {
        st.passSeed = seed * opts.maxSteps + st.stepCount + st.pass++;
        st.pos = 0;
      }
      const order = new Prng(st.passSeed).permutation(train.length);
      while (st.pos + opts.batchSize <= train.length && !st.stopped && st.stepCount < opts.maxSteps) {
        await stopIfInterrupted();
        const rows = order.slice(st.pos, st.pos + opts.batchSize).map((j) => tokenizeQa(tok, train[j]!, Tq, cfg.max_answer_len, eos));
        const readNow = st.micro % 10 === 0;
        const stepEnds = (st.micro + 1) % opts.gradAcc === 0;
        const out = await E.tidyAsync(async () => {
          const l = qaLoss(model.config, model.params, batchToDevice(qaBatch(rows, Tq, pad), model.dtype, model.device), { training: true, dropoutSeed: seed * 7919 + st.micro });
          const gs = E.grad(E.mulScalar(l, 1 / opts.gradAcc), names.map((n) => model.params[n]!));
          const summed = acc ? gs.map((g, j) => E.keep(E.add(acc![j]!, g))) : gs.map((g) => E.keep(g));
          let g = E.add(guard, E.sub(l, l));
          if (stepEnds) {
            const norm = opt.step(summed);
            if (norm) g = E.add(g, E.sub(norm, norm));
          }
          const nextGuard = E.keep(g);
          // [loss, guard], started now and awaited after the next step is recorded
          return { summed, nextGuard, read: readNow ? E.readLater([l, nextGuard]) : null };
        });
        guard.dispose();
        guard = out.nextGuard;
        if (acc) for (const t of acc) t.dispose();
        acc = out.summed;
        st.micro++;
        st.pos += opts.batchSize;
        const guardStep = st.stepCount;
        const metricStep = stepEnds ? st.stepCount + 1 : null;
        await late.push(out.read, ([loss, g]) => {
          checkFinite({ 'training loss or gradient norm': g! }, { task: opts.label, step: guardStep, settings, lastGood: lastGood() });
          if (metricStep === null) return;
          prog.note(`loss ${loss!.toFixed(4)}`);
          run.metric({ kind: `${opts.label}-train`, step: metricStep, loss });
        });
        if (stepEnds) {
          for (const t of acc) t.dispose();
          acc = null;
          st.stepCount++;
          prog.tick(1);
          if (st.stepCount % opts.valSteps === 0) {
            st.stopped = await validateNow();
            if (opts.checkpoints) await checkpoint();
          }
        }
      }
      if (st.pos + opts.batchSize > train.length) st.passSeed = null; // the pass is over
    }
    await checkGuard();
  } finally {
    for (const t of (acc as E.Tensor[] | null) ?? []) t.dispose();
    guard.dispose();
    opt.dispose();
  }
  prog.finish();
  if (bestSnap) {
    for (const [k, d] of bestSnap as Map<string, Float32Array>) if (countNonFinite(d) > 0) throw new Error(`${opts.label}: the best weights hold non-finite values in '${k}'`);
    restore(model, bestSnap);
  }
  const best = st.best[metric] ?? st.best.nll ?? st.history[0]!;
  run.log(`${opts.label}: restored the best ${metric} weights from step ${best.step}`);
  return { history: st.history, best };
}
