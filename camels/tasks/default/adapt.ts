// Online adaptation and scoring for the embedded default (the reference's evaluation protocol, spec 3,
// at small scale): a fresh copy of the QA-tuned base takes one Adam step per stream document on the
// weighted LM loss (dropout on, clip 750), `epochs` passes (one by default, as the reference); then
// every question is answered with one decoding shared by all methods and scored by F1, standard EM,
// the reference's prefix EM and teacher-forced answer NLL — per question, so documents can be paired.

import * as E from '../../../engine/index.js';
import type { DType, DeviceName } from '../../../engine/index.js';
import type { CausalLM } from '../../../models/pretrained.js';
import { disposeModel } from '../../../models/pretrained.js';
import type { HfTokenizer } from '../../../models/tokenizer.js';
import { answerNlls } from '../../answer-metrics.js';
import { padBatch, batchToDevice } from '../../batch.js';
import type { QaExample } from '../../data/types.js';
import { weightedLmLoss } from '../../losses.js';
import { exactMatch, f1Score, referenceExactMatch } from '../../metrics.js';
import { Progress } from '../../runs/progress.js';
import type { TokenWeighting } from '../../weighting/weighters.js';
import { answerQuestions, type DecodingOptions } from '../answer.js';
import { specialIds, tokenizeDocument } from '../tokenize.js';

/** A stream: documents in order and every question about them, each naming its document. */
export interface ScoredStream {
  documents: string[];
  questions: (QaExample & { doc: number })[];
}

export interface QuestionResult {
  doc: number;
  gold: string;
  prediction: string;
  f1: number;
  emStd: 0 | 1;
  emRef: 0 | 1;
  /** Teacher-forced answer NLL (nats per answer token). */
  nll: number;
}

export interface AdaptOptions {
  lr: number;
  maxTextLen: number;
  epochs: number;
  clip: number;
  seed: number;
  device: DeviceName;
  dtype: DType;
  /** 'adam' (the reference's evaluation, default) or 'sgd' (the meta-training inner loop's optimiser). */
  optimizer?: 'adam' | 'sgd';
}

export interface ScoreOptions {
  decoding: DecodingOptions;
  maxQuestionLen: number;
  maxAnswerLen: number;
  /** Skip decoding (answer NLL only; F1 and EMs are NaN / 0). */
  nllOnly?: boolean;
}

/** Adapt `model` in place on the stream's documents. Returns the seconds taken. */
export async function adaptOnStream(model: CausalLM, tok: HfTokenizer, documents: readonly string[], weighting: TokenWeighting, o: AdaptOptions): Promise<number> {
  const params = Object.values(model.params);
  const opt = (o.optimizer ?? 'adam') === 'adam' ? new E.Adam(params, { lr: o.lr, maxGradNorm: o.clip }) : null;
  const { pad } = specialIds(tok);
  const prog = new Progress(`adapt (${weighting.name}, lr ${o.lr})`, documents.length * o.epochs);
  const t0 = Date.now();
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      for (let d = 0; d < documents.length; d++) {
        const { ids, truncated } = tokenizeDocument(tok, documents[d]!, o.maxTextLen);
        if (truncated > 0) throw new Error(`adapt: document ${d} has ${ids.length + truncated} tokens, more than the context (${o.maxTextLen})`);
        await E.tidyAsync(async () => {
          const batch = batchToDevice(padBatch([ids], ids.length, pad), o.dtype, o.device); // [1, n]: no padding
          const w = weighting.weights(batch); // [1, n]
          const l = weightedLmLoss(model.config, model.params, batch, w, { training: true, dropoutSeed: o.seed * 100003 + epoch * 7919 + d });
          const gs = E.grad(l, params);
          if (opt) opt.step(gs);
          else E.sgdStepInPlace(params, gs, o.lr);
        });
        prog.tick(1);
      }
    }
    await E.getBackend(o.device).sync();
  } finally {
    opt?.dispose();
    prog.finish();
  }
  return (Date.now() - t0) / 1000;
}

/** Score the (adapted) model on the stream's questions. */
export async function scoreStream(model: CausalLM, tok: HfTokenizer, stream: ScoredStream, o: ScoreOptions, label: string): Promise<QuestionResult[]> {
  const nll = await answerNlls(model, tok, stream.questions, o.maxQuestionLen, o.maxAnswerLen);
  const answers = o.nllOnly ? null : await answerQuestions(model, tok, stream.questions, o.decoding, label, o.maxAnswerLen, o.maxQuestionLen);
  return stream.questions.map((q, i) => {
    const a = answers?.[i];
    const gold = a?.gold ?? q.answer;
    const prediction = a?.predictions[0] ?? '';
    return {
      doc: q.doc,
      gold,
      prediction,
      f1: a ? f1Score(prediction, gold) : NaN,
      emStd: a ? exactMatch(prediction, gold) : 0,
      emRef: a ? referenceExactMatch(prediction, gold) : 0,
      nll: nll[i]!,
    };
  });
}

/** A fresh base, adapted under `weighting` at `lr`, scored, disposed. */
export async function adaptAndScore(loadBase: () => CausalLM, tok: HfTokenizer, stream: ScoredStream, weighting: TokenWeighting, a: AdaptOptions, s: ScoreOptions): Promise<{ questions: QuestionResult[]; adaptSeconds: number }> {
  const model = loadBase();
  try {
    const adaptSeconds = await adaptOnStream(model, tok, stream.documents, weighting, a);
    return { questions: await scoreStream(model, tok, stream, s, `answer (${weighting.name}, lr ${a.lr})`), adaptSeconds };
  } finally {
    disposeModel(model);
  }
}

/** Per-document means of a per-question metric (documents 0..n−1; a document without questions is NaN). */
export function perDocument(questions: readonly QuestionResult[], nDocs: number, metric: (q: QuestionResult) => number): number[] {
  const sums = new Array<number>(nDocs).fill(0);
  const counts = new Array<number>(nDocs).fill(0);
  for (const q of questions) {
    sums[q.doc]! += metric(q);
    counts[q.doc]!++;
  }
  return sums.map((s, d) => (counts[d] ? s / counts[d]! : NaN));
}
