// Two metrics of the embedded default beyond EM/F1:
//
// - answer NLL: the mean negative log-likelihood (nats per token) of the gold answer given its question,
//   teacher-forced, over the answer tokens only (' ' + answer, no EOS): less noisy than decoding, and
//   it rewards a model that moved probability towards the answer even where the answer is not its
//   argmax. Lower is better.
// - selectivity of a token weighting: how much of a document's weight lands on answer tokens, and the
//   mean weight of answer tokens over the mean weight of distractor-value tokens (the invented people,
//   places and years of facts no question asks about). The synthetic generator knows both spans.

import * as E from '../engine/index.js';
import type { CausalLM } from '../models/pretrained.js';
import { causalLmLogits } from '../models/gpt.js';
import type { HfTokenizer } from '../models/tokenizer.js';
import { qaBatch, batchToDevice } from './batch.js';
import type { QaExample } from './data/types.js';
import { tokenCharSpans } from './weighting/char-spans.js';
import { specialIds, tokenizeQa } from './tasks/tokenize.js';

/** Answer NLL of each question (nats per answer token, answer tokens without EOS), in input order. */
export async function answerNlls(model: CausalLM, tok: HfTokenizer, questions: readonly QaExample[], maxQuestionLen: number, maxAnswerLen: number, batchSize = 16): Promise<number[]> {
  const { pad } = specialIds(tok);
  const out: number[] = [];
  for (let i = 0; i < questions.length; i += batchSize) {
    const rows = questions.slice(i, i + batchSize).map((q) => tokenizeQa(tok, q, maxQuestionLen, maxAnswerLen, false));
    const T = Math.max(...rows.map((r) => r.question.length + r.answer.length));
    const hb = qaBatch(rows, T, pad);
    const ce = await E.tidyAsync(async () =>
      E.noGrad(() => {
        const b = batchToDevice(hb, model.dtype, model.device);
        const logits = causalLmLogits(model.config, model.params, b.ids, { attentionMask: b.mask }); // [B, T, V]
        const [B, , V] = logits.shape as [number, number, number];
        return E.crossEntropy(E.slice(logits, [0, 0, 0], [B, T - 1, V]), b.targets); // [B, T−1], 0 where no label
      }).data(),
    );
    rows.forEach((r, b) => {
      let s = 0;
      for (let t = 0; t < T - 1; t++) s += ce[b * (T - 1) + t]!;
      out.push(s / r.answer.length);
    });
  }
  return out;
}

/** Character span [start, end) in a document. */
export interface Span {
  start: number;
  end: number;
}

/** Weight sums of one document: all scored tokens, answer tokens, distractor-value tokens. */
export interface WeightTally {
  /** Scored tokens (all real tokens but the first). */
  tokens: number;
  total: number;
  answer: number;
  answerTokens: number;
  distractor: number;
  distractorTokens: number;
}

/** Two half-open spans share a character. */
export const overlaps = (a: Span, b: Span): boolean => a.start < b.end && b.start < a.end;

/**
 * Tally one document's token weights. `pieces` are the decoded tokens (their concatenation is the
 * document text), `weights` one per token. Token 0 is left out: the LM loss never predicts it, so its
 * weight has no effect. A token counts as an answer (distractor) token when its characters overlap
 * an answer (distractor-value) span.
 */
export function tallyWeights(pieces: readonly string[], weights: readonly number[], answers: readonly Span[], distractors: readonly Span[]): WeightTally {
  if (pieces.length !== weights.length) throw new Error(`tallyWeights: ${pieces.length} tokens but ${weights.length} weights`);
  const spans = tokenCharSpans(pieces);
  const t: WeightTally = { tokens: spans.length > 0 ? spans.length - 1 : 0, total: 0, answer: 0, answerTokens: 0, distractor: 0, distractorTokens: 0 };
  for (let i = 1; i < spans.length; i++) {
    const w = weights[i]!;
    t.total += w;
    if (answers.some((a) => overlaps(spans[i]!, a))) {
      t.answer += w;
      t.answerTokens++;
    } else if (distractors.some((d) => overlaps(spans[i]!, d))) {
      t.distractor += w;
      t.distractorTokens++;
    }
  }
  return t;
}

export interface Selectivity {
  /** Σ answer weight / Σ weight. */
  answerWeightShare: number;
  /** (mean weight of answer tokens) / (mean weight of distractor-value tokens). */
  answerVsDistractorWeight: number;
  /** The share of answer tokens among scored tokens (what uniform weighting gives). */
  answerTokenShare: number;
}

/** Selectivity pooled over documents (sums first, then ratios). */
export function selectivity(tallies: readonly WeightTally[]): Selectivity {
  const s: WeightTally = { tokens: 0, total: 0, answer: 0, answerTokens: 0, distractor: 0, distractorTokens: 0 };
  for (const t of tallies) for (const k of Object.keys(s) as (keyof WeightTally)[]) s[k] += t[k];
  const meanA = s.answer / Math.max(1, s.answerTokens);
  const meanD = s.distractor / Math.max(1, s.distractorTokens);
  return {
    answerWeightShare: s.total > 0 ? s.answer / s.total : NaN,
    answerVsDistractorWeight: meanD > 0 ? meanA / meanD : NaN,
    answerTokenShare: s.tokens > 0 ? s.answerTokens / s.tokens : NaN,
  };
}
