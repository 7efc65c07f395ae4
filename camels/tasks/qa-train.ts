// QA fine-tuning with early stopping (reference spec 3.3 and 4): question → ' ' + answer + EOS with
// the loss on the answer, Adam with clipping and gradient accumulation, validation every val_steps
// optimizer steps (step 0 included) by answer NLL and greedy-decoded EM/F1, patience on a stopping
// metric, best weights restored at the end; optionally the best checkpoints saved as HF model dirs.

import fs from 'node:fs';
import path from 'node:path';
import * as E from '../../engine/index.js';
import type { CausalLM } from '../../models/pretrained.js';
import { savePretrained } from '../../models/pretrained.js';
import type { HfTokenizer } from '../../models/tokenizer.js';
import { qaBatch, batchToDevice } from '../batch.js';
import { num, type Config } from '../config.js';
import { Prng } from '../data/rng.js';
import type { QaExample } from '../data/types.js';
import { qaLoss } from '../losses.js';
import { scoreQuestion, summarizeScores } from '../metrics.js';
import { Progress } from '../runs/progress.js';
import { writeDirAtomic, type RunDir } from '../runs/run-dir.js';
import { answerQuestions } from './answer.js';
import { specialIds, tokenizeQa } from './tokenize.js';

export type StopMetric = 'nll' | 'max_f1' | 'avg_f1' | 'exact_match';

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
export async function qaValidate(model: CausalLM, tok: HfTokenizer, val: QaExample[], cfg: Config, batchSize: number, generateLimit: number): Promise<Omit<ValMetrics, 'step'>> {
  const { pad } = specialIds(tok);
  const Tq = num(cfg, 'max_question_len');
  let nllSum = 0;
  let count = 0;
  for (let i = 0; i < val.length; i += batchSize) {
    const rows = val.slice(i, i + batchSize).map((r) => tokenizeQa(tok, r, Tq, num(cfg, 'max_answer_len')));
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
    const preds = await answerQuestions(model, tok, gen, { maxNewTokens: 16, numBeams: 1, numBeamGroups: 1, diversityPenalty: 0, eosTokenId: specialIds(tok).eos, padTokenId: pad }, 'validate (greedy)', num(cfg, 'max_answer_len'));
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

/** Fine-tune `model` in place on QA pairs with early stopping; the best weights are restored. */
export async function qaLightTune(model: CausalLM, tok: HfTokenizer, train: QaExample[], val: QaExample[], cfg: Config, run: RunDir, opts: LightTuneOptions): Promise<{ history: ValMetrics[]; best: ValMetrics }> {
  const metric = opts.metric as StopMetric;
  if (!['nll', 'max_f1', 'avg_f1', 'exact_match'].includes(metric)) throw new Error(`qa-train: unknown stopping metric '${opts.metric}' (nll, max_f1, avg_f1, exact_match)`);
  if (train.length === 0 || val.length === 0) throw new Error(`qa-train: empty ${train.length === 0 ? 'training' : 'validation'} set`);
  const { pad } = specialIds(tok);
  const Tq = num(cfg, 'max_question_len');
  const names = Object.keys(model.params);
  const opt = new E.Adam(names.map((n) => model.params[n]!), { lr: opts.lr, maxGradNorm: opts.clip });
  const history: ValMetrics[] = [];
  const bestByMetric = new Map<StopMetric, ValMetrics>();
  let bestSnap: Map<string, Float32Array> | null = null;
  let stepCount = 0;
  let micro = 0;
  let acc: E.Tensor[] | null = null;
  const seed = num(cfg, 'seed');
  const prog = new Progress(opts.label, opts.maxSteps < 1e6 ? opts.maxSteps : opts.valSteps * (opts.patience + 1));

  const better = (m: StopMetric, a: number, b: number | undefined) => b === undefined || Number.isNaN(b) || (higherIsBetter(m) ? a > b : a < b);
  const validateNow = async (): Promise<boolean> => {
    const v = { step: stepCount, ...(await qaValidate(model, tok, val, cfg, opts.batchSize, opts.valGenerate ?? -1)) };
    history.push(v);
    run.metric({ kind: `${opts.label}-val`, ...v });
    run.log(`${opts.label} step ${stepCount}: nll ${v.nll.toFixed(4)} em ${v.exact_match} avg_f1 ${v.avg_f1.toFixed(4)} max_f1 ${v.max_f1.toFixed(4)}`);
    prog.note(`nll ${v.nll.toFixed(3)} f1 ${Number.isNaN(v.max_f1) ? '-' : v.max_f1.toFixed(3)}`);
    for (const m of ['nll', 'max_f1', 'exact_match'] as StopMetric[]) {
      if (Number.isNaN(v[m])) continue;
      if (better(m, v[m], bestByMetric.get(m)?.[m])) {
        bestByMetric.set(m, v);
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
    if (bestByMetric.get(metric) === v || (bestSnap === null && history.length === 1)) bestSnap = await snapshot(model);
    // If the stopping metric never changed (e.g. F1 stuck at 0), fall back to NLL (reference behaviour).
    const vals = history.map((h) => h[metric]);
    const flat = vals.every((x) => x === vals[0]) || vals.some((x) => Number.isNaN(x));
    return flat ? shouldStop(history.map((h) => h.nll), opts.patience, false) : shouldStop(vals, opts.patience, higherIsBetter(metric));
  };

  let stop = await validateNow();
  let pass = 0;
  while (!stop && stepCount < opts.maxSteps) {
    const order = new Prng(seed * opts.maxSteps + stepCount + pass++).permutation(train.length);
    for (let i = 0; i + opts.batchSize <= train.length && !stop && stepCount < opts.maxSteps; i += opts.batchSize) {
      const rows = order.slice(i, i + opts.batchSize).map((j) => tokenizeQa(tok, train[j]!, Tq, num(cfg, 'max_answer_len')));
      const out = await E.tidyAsync(async () => {
        const l = qaLoss(model.config, model.params, batchToDevice(qaBatch(rows, Tq, pad), model.dtype, model.device), { training: true, dropoutSeed: seed * 7919 + micro });
        const gs = E.grad(E.mulScalar(l, 1 / opts.gradAcc), names.map((n) => model.params[n]!));
        const summed = acc ? gs.map((g, j) => E.keep(E.add(acc![j]!, g))) : gs.map((g) => E.keep(g));
        return { summed, loss: micro % 10 === 0 ? await l.item() : NaN };
      });
      if (acc) for (const t of acc) t.dispose();
      acc = out.summed;
      micro++;
      if (micro % opts.gradAcc === 0) {
        opt.step(acc);
        for (const t of acc) t.dispose();
        acc = null;
        stepCount++;
        prog.tick(1, Number.isNaN(out.loss) ? undefined : `loss ${out.loss.toFixed(4)}`);
        if (!Number.isNaN(out.loss)) run.metric({ kind: `${opts.label}-train`, step: stepCount, loss: out.loss });
        if (stepCount % opts.valSteps === 0) stop = await validateNow();
      }
    }
  }
  for (const t of (acc as E.Tensor[] | null) ?? []) t.dispose();
  opt.dispose();
  prog.finish();
  if (bestSnap) restore(model, bestSnap);
  const best = bestByMetric.get(metric) ?? bestByMetric.get('nll') ?? history[0]!;
  run.log(`${opts.label}: restored the best ${metric} weights from step ${best.step}`);
  return { history, best };
}
