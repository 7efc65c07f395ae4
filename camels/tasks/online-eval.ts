// Evaluation by online adaptation (reference spec 3): the QA-tuned base model takes one Adam step
// per stream document on the weighted LM loss (dropout on, clip 750), optionally QA light-tunes,
// then answers every question about the stream by diverse beam search. EM (the reference's prefix
// match and the standard one) and F1; the reference's CSV plus a JSON summary.

import fs from 'node:fs';
import * as E from '../../engine/index.js';
import type { DType, DeviceName } from '../../engine/index.js';
import type { CausalLM } from '../../models/pretrained.js';
import { disposeModel } from '../../models/pretrained.js';
import type { HfTokenizer } from '../../models/tokenizer.js';
import { padBatch, batchToDevice } from '../batch.js';
import { bool, num, type Config } from '../config.js';
import type { QaExample } from '../data/types.js';
import { weightedLmLoss } from '../losses.js';
import { exactMatch, formatEvalCsv, scoreQuestion, summarizeScores, type EvalSummary, type QuestionScore } from '../metrics.js';
import { Progress } from '../runs/progress.js';
import { writeAtomic, type RunDir } from '../runs/run-dir.js';
import type { TokenWeighting } from '../weighting/weighters.js';
import { answerQuestions, type DecodingOptions } from './answer.js';
import { qaLightTune } from './qa-train.js';
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
}

export interface EvalOutcome {
  lr: number;
  weighting: string;
  documents: number;
  questions: number;
  init: (EvalSummary & { emStandard: number }) | null;
  final: EvalSummary & { emStandard: number };
  adaptSeconds: number;
  csv: string;
}

export function decodingOptions(cfg: Config, tok: HfTokenizer): DecodingOptions {
  const { eos, pad } = specialIds(tok);
  return {
    maxNewTokens: num(cfg, 'max_new_tokens'),
    numBeams: num(cfg, 'num_beams'),
    numBeamGroups: num(cfg, 'num_beam_groups'),
    diversityPenalty: num(cfg, 'diversity_penalty'),
    eosTokenId: eos,
    padTokenId: pad,
  };
}

/** Answer and score every question; returns per-question scores and the summary. */
export async function scoreQa(model: CausalLM, tok: HfTokenizer, questions: QaExample[], cfg: Config, label: string): Promise<{ scores: QuestionScore[]; summary: EvalSummary & { emStandard: number } }> {
  const preds = await answerQuestions(model, tok, questions, decodingOptions(cfg, tok), label, num(cfg, 'max_answer_len'));
  const scores = questions.map((q, i) => scoreQuestion(q.question, preds[i]!.gold, preds[i]!.predictions));
  const emStandard = scores.length ? scores.filter((s) => s.predictions.some((p) => exactMatch(p, s.gold) === 1)).length / scores.length : NaN;
  return { scores, summary: { ...summarizeScores(scores), emStandard } };
}

/** One online-adaptation run at learning rate lr. */
export async function evaluateOnline(ctx: EvalContext, cfg: Config, lr: number): Promise<EvalOutcome> {
  const tok = ctx.tokenizer;
  const tag = ctx.tag ?? '';
  const model = ctx.loadBase();
  try {
    let init: EvalOutcome['init'] = null;
    if (bool(cfg, 'eval_init')) {
      const r = await scoreQa(model, tok, ctx.stream.questions, cfg, 'answer (before)');
      writeAtomic(ctx.run.path(`${tag}init_em.csv`), formatEvalCsv(r.scores));
      init = r.summary;
    }
    const names = Object.keys(model.params);
    const params = names.map((n) => model.params[n]!);
    const optName = String(cfg.optimizer);
    if (optName !== 'adam' && optName !== 'sgd') throw new Error(`eval: optimizer '${optName}' is not supported (adam or sgd)`);
    const opt = optName === 'adam' ? new E.Adam(params, { lr, maxGradNorm: num(cfg, 'grad_clip_thresh') }) : null;
    const T = num(cfg, 'max_text_len');
    const { pad } = specialIds(tok);
    const prog = new Progress(`adapt (${ctx.weighting.name}, lr ${lr})`, ctx.stream.documents.length * num(cfg, 'n_epochs'));
    const t0 = Date.now();
    let truncatedDocs = 0;
    for (let epoch = 0; epoch < num(cfg, 'n_epochs'); epoch++) {
      for (let d = 0; d < ctx.stream.documents.length; d++) {
        const { ids, truncated } = tokenizeDocument(tok, ctx.stream.documents[d]!, T);
        if (truncated > 0 && epoch === 0) truncatedDocs++;
        const loss = await E.tidyAsync(async () => {
          const batch = batchToDevice(padBatch([ids], T, pad), ctx.dtype, ctx.device);
          const w = ctx.weighting.weights(batch);
          // dropout on during adaptation (spec 3.2, 9.9)
          const l = weightedLmLoss(model.config, model.params, batch, w, { training: true, dropoutSeed: num(cfg, 'seed') * 100003 + epoch * 7919 + d });
          const gs = E.grad(l, params);
          if (opt) opt.step(gs);
          else E.sgdStepInPlace(params, gs, lr);
          return d % 20 === 0 ? await l.item() : NaN;
        });
        prog.tick(1, Number.isNaN(loss) ? undefined : `loss ${loss.toFixed(4)}`);
      }
    }
    await E.getBackend(ctx.device).sync();
    const adaptSeconds = (Date.now() - t0) / 1000;
    opt?.dispose();
    if (truncatedDocs) ctx.run.log(`${truncatedDocs} documents were longer than max_text_len=${T} and were right-truncated`);
    if (bool(cfg, 'qa_lt_final')) {
      if (!ctx.ltTrain?.length || !ctx.ltVal?.length) throw new Error('eval: qa_lt_final=true needs lt_train_path and lt_val_path (QA light-tuning data)');
      await qaLightTune(model, tok, ctx.ltTrain, ctx.ltVal, cfg, ctx.run, { lr: num(cfg, 'lt_lr'), batchSize: num(cfg, 'lt_batch_size'), valSteps: num(cfg, 'lt_val_steps'), patience: num(cfg, 'lt_patience'), metric: String(cfg.lt_stopping_metric), maxSteps: num(cfg, 'lt_steps'), gradAcc: num(cfg, 'grad_acc_steps'), clip: num(cfg, 'grad_clip_thresh'), label: 'light-tune' });
    }
    const r = await scoreQa(model, tok, ctx.stream.questions, cfg, 'answer');
    const csv = ctx.run.path(`${tag}final_em.csv`);
    writeAtomic(csv, formatEvalCsv(r.scores));
    const outcome: EvalOutcome = {
      lr,
      weighting: ctx.weighting.name,
      documents: ctx.stream.documents.length,
      questions: ctx.stream.questions.length,
      init,
      final: r.summary,
      adaptSeconds,
      csv,
    };
    writeAtomic(ctx.run.path(`${tag}summary.json`), JSON.stringify(outcome, null, 2));
    ctx.run.metric({ kind: 'eval', ...outcome });
    return outcome;
  } finally {
    disposeModel(model);
  }
}

export function fileExists(p: string | null): p is string {
  return !!p && fs.existsSync(p);
}
