// Answer NLL (teacher-forced, answer tokens only) and the selectivity of a weighting over answer and
// distractor-value spans.
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { answerNlls, selectivity, tallyWeights } from '../../camels/answer-metrics.js';
import { qaBatch, batchToDevice } from '../../camels/batch.js';
import { qaLoss } from '../../camels/losses.js';
import { tokenizeQa } from '../../camels/tasks/tokenize.js';
import { tinyModel, tokenizer } from './helpers.js';

describe('answer NLL', () => {
  it('equals the mean cross-entropy of the answer tokens (no EOS), per question, batched or not', async () => {
    const model = tinyModel(4);
    const tok = tokenizer();
    const qs = [
      { document: '', question: 'The first director of the Amber Society was', answer: 'Tamorn Dovilbeck' },
      { document: '', question: 'Kelan was born in', answer: '1812' },
      { document: '', question: 'The main export of Fentaford is', answer: 'rope' },
    ];
    const got = await answerNlls(model, tok, qs, 48, 16, 2);
    expect(got).toHaveLength(3);
    for (let i = 0; i < qs.length; i++) {
      const row = tokenizeQa(tok, qs[i]!, 48, 16, false);
      expect(row.answer).not.toContain(tok.eosTokenId);
      const want = await E.tidyAsync(async () => qaLoss(model.config, model.params, batchToDevice(qaBatch([row], row.question.length + row.answer.length, tok.eosTokenId!), 'float32', 'cpu')).item());
      expect(got[i]!).toBeCloseTo(want, 4);
    }
    const alone = await answerNlls(model, tok, [qs[1]!], 48, 16);
    expect(alone[0]!).toBeCloseTo(got[1]!, 4);
  });
});

describe('selectivity', () => {
  // text: "A was born in Xo. Bo fixed it."  answer "Xo" at 14..16, distractor value "Bo" at 18..20
  const pieces = ['A', ' was', ' born', ' in', ' Xo', '.', ' Bo', ' fixed', ' it', '.'];
  const answers = [{ start: 14, end: 16 }];
  const distractors = [{ start: 18, end: 20 }];

  it('tallies answer and distractor tokens by character overlap, leaving out token 0', () => {
    expect(pieces.join('').slice(14, 16)).toBe('Xo');
    expect(pieces.join('').slice(18, 20)).toBe('Bo');
    const w = [100, 1, 1, 1, 4, 1, 2, 1, 1, 1];
    const t = tallyWeights(pieces, w, answers, distractors);
    expect(t).toEqual({ tokens: 9, total: 13, answer: 4, answerTokens: 1, distractor: 2, distractorTokens: 1 });
    const s = selectivity([t, t]);
    expect(s.answerWeightShare).toBeCloseTo(4 / 13, 12);
    expect(s.answerVsDistractorWeight).toBeCloseTo(2, 12);
    expect(s.answerTokenShare).toBeCloseTo(1 / 9, 12);
    expect(() => tallyWeights(pieces, [1], answers, distractors)).toThrow(/10 tokens but 1 weights/);
  });

  it('uniform weights give answer share = answer token share and ratio 1', () => {
    const s = selectivity([tallyWeights(pieces, pieces.map(() => 0.3), answers, distractors)]);
    expect(s.answerWeightShare).toBeCloseTo(s.answerTokenShare, 12);
    expect(s.answerVsDistractorWeight).toBeCloseTo(1, 12);
  });
});
