// Evaluation by online adaptation (reference spec 3): the QA-tuned base model takes one Adam step
// per batch_size stream documents (× grad_acc_steps) on the weighted LM loss (dropout on, clip 750),
// optionally QA light-tunes, then answers every question about the stream by diverse beam search. EM
// (the reference's prefix match and the standard one) and F1; the reference's CSV plus a JSON
// summary. A run whose loss or gradient norm turns non-finite is reported as diverged, not decoded.

import fs from 'node:fs';
import * as E from '../../engine/index.js';
import type { DType, DeviceName } from '../../engine/index.js';
import type { CausalLM } from '../../models/pretrained.js';
import { disposeModel } from '../../models/pretrained.js';
import type { HfTokenizer } from '../../models/tokenizer.js';
import { padBatch, batchToDevice } from '../batch.js';
import type { EvalConfig } from '../config.js';
import type { QaExample } from '../data/types.js';
import { weightedLmLoss } from '../losses.js';
import { exactMatch, formatEvalCsv, scoreQuestion, summarizeScores, type EvalSummary, type QuestionScore } from '../metrics.js';
import { squaredNorm } from '../runs/guards.js';
import { Interrupted, pollInterrupt } from '../runs/interrupt.js';
import { Progress } from '../runs/progress.js';
import { writeAtomic, type RunDir } from '../runs/run-dir.js';
import type { TokenWeighting } from '../weighting/weighters.js';
import { answerQuestions, type DecodingOptions } from './answer.js';
import { qaLightTune } from './qa-train.js';
import { LateReads } from './late-reads.js';
import { specialIds, tokenizeDocument } from './tokenize.js';

export interface EvalStream {
  /** Documents in stream order (the training stream). */
  documents: string[];
  /** Every question about the stream's documents. */
  questions: QaExample[];
}

export interface EvalContext {
  run: RunDir;
  tokenizer: HfTokenizer;
  /** A fresh copy of the QA-tuned base model for each run (lr sweep). */
  loadBase: () => CausalLM;
  weighting: TokenWeighting;
  stream: EvalStream;
  ltTrain?: QaExample[];
  ltVal?: QaExample[];
  device: DeviceName;
  dtype: DType;
  /** Prefix for output files (the lr in a sweep). */
  tag?: string;
  /** Printed with an interruption. */
  resumeCommand?: string;
}

/** Where an adaptation run stopped being finite. */
export interface Divergence {
  /** Adaptation steps taken before the check that found it. */
  step: number;
  reason: string;
}

export interface EvalOutcome {
  lr: number;
  weighting: string;
  documents: number;
  questions: number;
  init: (EvalSummary & { emStandard: number }) | null;
  /** null when the adaptation diverged (then `diverged` says where). */
  final: (EvalSummary & { emStandard: number }) | null;
  diverged?: Divergence;
  adaptSeconds: number;
  csv: string;
}

/** The decoding keys of an eval config. */
export type DecodingConfig = Pick<EvalConfig, 'max_new_tokens' | 'num_beams' | 'num_beam_groups' | 'diversity_penalty' | 'generation_batch_size' | 'max_answer_len'>;

export function decodingOptions(cfg: DecodingConfig, tok: HfTokenizer): DecodingOptions {
  const { eos, pad } = specialIds(tok);
  if (cfg.num_beams % cfg.num_beam_groups !== 0) throw new Error(`eval: num_beam_groups (${cfg.num_beam_groups}) must divide num_beams (${cfg.num_beams})`);
  return {
    maxNewTokens: cfg.max_new_tokens,
    numBeams: cfg.num_beams,
    numBeamGroups: cfg.num_beam_groups,
    diversityPenalty: cfg.diversity_penalty,
    eosTokenId: eos,
    padTokenId: pad,
    ...(cfg.generation_batch_size > 0 ? { batchSize: cfg.generation_batch_size } : {}),
  };
}

/** Answer and score every question; returns per-question scores and the summary. */
export async function scoreQa(model: CausalLM, tok: HfTokenizer, questions: QaExample[], cfg: DecodingConfig, label: string): Promise<{ scores: QuestionScore[]; summary: EvalSummary & { emStandard: number } }> {
  const preds = await answerQuestions(model, tok, questions, decodingOptions(cfg, tok), label, cfg.max_answer_len);
  const scores = questions.map((q, i) => scoreQuestion(q.question, preds[i]!.gold, preds[i]!.predictions));
  const emStandard = scores.length ? scores.filter((s) => s.predictions.some((p) => exactMatch(p, s.gold) === 1)).length / scores.length : NaN;
  return { scores, summary: { ...summarizeScores(scores), emStandard } };
}

/** One online-adaptation run at learning rate lr. */
export async function evaluateOnline(ctx: EvalContext, cfg: EvalConfig, lr: number): Promise<EvalOutcome> {
  const tok = ctx.tokenizer;
  const tag = ctx.tag ?? '';
  const resumeCommand = ctx.resumeCommand ?? `camels-gpu eval --resume ${ctx.run.dir}`;
  const model = ctx.loadBase();
  let guard: E.Tensor | null = null;
  try {
    let init: EvalOutcome['init'] = null;
    if (cfg.eval_init) {
      const r = await scoreQa(model, tok, ctx.stream.questions, cfg, 'answer (before)');
      writeAtomic(ctx.run.path(`${tag}init_em.csv`), formatEvalCsv(r.scores));
      init = r.summary;
    }
    const names = Object.keys(model.params);
    const params = names.map((n) => model.params[n]!);
    const opt = cfg.optimizer === 'adam' ? new E.Adam(params, { lr, maxGradNorm: cfg.grad_clip_thresh }) : null;
    const T = cfg.max_text_len;
    const { pad } = specialIds(tok);
    const docs = ctx.stream.documents;
    const B = cfg.batch_size;
    const G = cfg.grad_acc_steps;
    const chunks = Math.ceil(docs.length / B);
    const prog = new Progress(`adapt (${ctx.weighting.name}, lr ${lr})`, docs.length * cfg.n_epochs);
    const t0 = Date.now();
    let truncatedDocs = 0;
    let steps = 0;
    let diverged: Divergence | undefined;
    // Σ (x − x) over losses and gradient norms: NaN as soon as one was NaN or ±Inf, read with the loss readbacks.
    guard = E.keep(E.zeros([], { device: ctx.device, dtype: ctx.dtype }));
    let acc: E.Tensor[] | null = null;
    const divergedAt = (step: number): Divergence => ({ step, reason: `the adaptation loss or gradient norm became non-finite by step ${step} (lr ${lr})` });
    const readGuard = async (): Promise<boolean> => {
      const v = await guard!.item();
      if (Number.isFinite(v)) return true;
      diverged = divergedAt(steps);
      return false;
    };
    // loss and guard readbacks land one chunk late
    const late = new LateReads();
    adapt: for (let epoch = 0; epoch < cfg.n_epochs; epoch++) {
      for (let c = 0; c < chunks; c++) {
        const sig = await pollInterrupt();
        if (sig) throw new Interrupted(sig, ctx.run.dir, resumeCommand);
        const d = c * B;
        const rows = docs.slice(d, d + B).map((doc) => tokenizeDocument(tok, doc, T));
        if (epoch === 0) truncatedDocs += rows.filter((r) => r.truncated > 0).length;
        const last = c === chunks - 1;
        const stepNow = (c + 1) % G === 0 || last;
        const readNow = c % 20 === 0;
        const out = await E.tidyAsync(async () => {
          const batch = batchToDevice(padBatch(rows.map((r) => r.ids), T, pad), ctx.dtype, ctx.device);
          const w = ctx.weighting.weights(batch);
          // dropout on during adaptation (spec 3.2, 9.9)
          const l = weightedLmLoss(model.config, model.params, batch, w, { training: true, dropoutSeed: cfg.seed * 100003 + epoch * 7919 + d });
          const gs = E.grad(G > 1 ? E.mulScalar(l, 1 / G) : l, params);
          const summed = acc ? gs.map((g, j) => E.keep(E.add(acc![j]!, g))) : gs.map((g) => E.keep(g));
          let g = E.add(guard!, E.sub(l, l));
          if (stepNow) {
            if (opt) {
              const norm = opt.step(summed);
              if (norm) g = E.add(g, E.sub(norm, norm));
            } else {
              const n2 = squaredNorm(summed);
              g = E.add(g, E.sub(n2, n2));
              E.sgdStepInPlace(params, summed, lr);
            }
          }
          const nextGuard = E.keep(g);
          // [loss, guard], started now and awaited after the next chunk is recorded
          return { summed, nextGuard, read: readNow ? E.readLater([l, nextGuard]) : null };
        });
        guard.dispose();
        guard = out.nextGuard;
        if (acc) for (const t of acc) t.dispose();
        acc = out.summed;
        if (stepNow) {
          for (const t of acc) t.dispose();
          acc = null;
          steps++;
        }
        prog.tick(rows.length);
        const stepsSoFar = steps;
        await late.push(out.read, ([loss, g]) => {
          if (Number.isFinite(loss!)) prog.note(`loss ${loss!.toFixed(4)}`);
          if (!Number.isFinite(g!)) diverged = divergedAt(stepsSoFar);
        });
        if (diverged) break adapt;
      }
    }
    for (const t of (acc as E.Tensor[] | null) ?? []) t.dispose();
    if (!diverged) await late.flush();
    if (!diverged) await readGuard(); // also waits for the device
    const adaptSeconds = (Date.now() - t0) / 1000;
    opt?.dispose();
    if (truncatedDocs) ctx.run.log(`${truncatedDocs} documents were longer than max_text_len=${T} and were right-truncated`);
    const csv = ctx.run.path(`${tag}final_em.csv`);
    const base = { lr, weighting: ctx.weighting.name, documents: docs.length, questions: ctx.stream.questions.length, init, adaptSeconds, csv };
    if (diverged) {
      ctx.run.log(`lr ${lr}: diverged: ${diverged.reason}`);
      console.error(`eval: lr ${lr} diverged (${diverged.reason}); it is marked 'diverged' and the sweep goes on`);
      writeAtomic(csv, 'diverged\n');
      const outcome: EvalOutcome = { ...base, final: null, diverged };
      writeAtomic(ctx.run.path(`${tag}summary.json`), JSON.stringify(outcome, null, 2));
      ctx.run.metric({ kind: 'eval', ...outcome });
      return outcome;
    }
    if (cfg.qa_lt_final) {
      if (!ctx.ltTrain?.length || !ctx.ltVal?.length) throw new Error('eval: qa_lt_final=true needs lt_train_path and lt_val_path (QA light-tuning data)');
      await qaLightTune(model, tok, ctx.ltTrain, ctx.ltVal, cfg, ctx.run, { lr: cfg.lt_lr, batchSize: cfg.lt_batch_size, valSteps: cfg.lt_val_steps, patience: cfg.lt_patience, metric: cfg.lt_stopping_metric, maxSteps: cfg.lt_steps, gradAcc: cfg.grad_acc_steps, clip: cfg.grad_clip_thresh, label: 'light-tune', resumeCommand });
    }
    const sig = await pollInterrupt();
    if (sig) throw new Interrupted(sig, ctx.run.dir, resumeCommand);
    const r = await scoreQa(model, tok, ctx.stream.questions, cfg, 'answer');
    writeAtomic(csv, formatEvalCsv(r.scores));
    const outcome: EvalOutcome = { ...base, final: r.summary };
    writeAtomic(ctx.run.path(`${tag}summary.json`), JSON.stringify(outcome, null, 2));
    ctx.run.metric({ kind: 'eval', ...outcome });
    return outcome;
  } finally {
    guard?.dispose();
    disposeModel(model);
  }
}

/** The outcome a previous (interrupted) run of the same sweep already wrote for this lr, if complete. */
export function finishedOutcome(run: RunDir, tag: string): EvalOutcome | null {
  const f = run.path(`${tag}summary.json`);
  if (!fs.existsSync(f)) return null;
  return JSON.parse(fs.readFileSync(f, 'utf8')) as EvalOutcome;
}

export function fileExists(p: string | null): p is string {
  return !!p && fs.existsSync(p);
}
