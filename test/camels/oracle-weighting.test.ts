// The default's oracle reference weighting: 1 exactly on the tokens of the recorded answer spans.
import { describe, expect, it } from 'vitest';
import { padBatch, batchToDevice } from '../../camels/batch.js';
import { generateSyntheticDataset } from '../../camels/data/synthetic.js';
import { oracleWeighting } from '../../camels/tasks/default/oracle-weighting.js';
import { tokenCharSpans } from '../../camels/weighting/char-spans.js';
import { tokenizer } from './helpers.js';

describe('oracle weighting', () => {
  const tok = tokenizer();
  const ds = generateSyntheticDataset({ seed: 5, qaPretrain: 0, metaTrain: 0, validation: 0, test: 3, distractors: 3 });
  it('weights answer-span tokens 1 and every other token (distractors, pads) 0', async () => {
    const docs = ds.test.map((d) => tok.encode(d.text));
    const T = Math.max(...docs.map((d) => d.length)) + 2;
    const batch = batchToDevice(padBatch(docs, T, 0), 'float32', 'cpu');
    const w = await oracleWeighting(tok, ds.test).weights(batch).data();
    ds.test.forEach((d, b) => {
      const spans = tokenCharSpans(tok.decodeEach(docs[b]!));
      let answerTokens = 0;
      spans.forEach((s, t) => {
        const inAnswer = d.questions.some((q) => q.span.start < s.end && s.start < q.span.end);
        answerTokens += inAnswer ? 1 : 0;
        expect(w[b * T + t], `${d.id} token ${t}`).toBe(inAnswer ? 1 : 0);
      });
      expect(answerTokens).toBeGreaterThanOrEqual(d.questions.length);
      for (let t = spans.length; t < T; t++) expect(w[b * T + t]).toBe(0);
      // no distractor-value token is weighted
      spans.forEach((s, t) => {
        if (d.distractorSpans.some((x) => x.start < s.end && s.start < x.end) && !d.questions.some((q) => q.span.start < s.end && s.start < q.span.end)) expect(w[b * T + t]).toBe(0);
      });
    });
  });
  it('refuses a document it was not given', () => {
    const batch = batchToDevice(padBatch([tok.encode('Not a document of the dataset.')], 8, 0), 'float32', 'cpu');
    expect(() => oracleWeighting(tok, ds.test).weights(batch)).toThrow(/not one of the documents/);
  });
});
