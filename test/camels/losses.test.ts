// The weighted LM loss and its B·(T−1) normaliser; every token weighting.

import { describe, expect, it } from 'vitest';
import { padBatch, batchToDevice } from '../../camels/batch.js';
import { weightedLmLoss } from '../../camels/losses.js';
import { newWeightModel } from '../../camels/weight-model.js';
import { camelsWeighting, ssmWeighting, tfidfWeighting, uniformWeighting } from '../../camels/weighting/weighters.js';
import { causalLmLogits } from '../../models/gpt.js';
import { disposeModel } from '../../models/pretrained.js';
import { E, tinyModel, tokenizer } from './helpers.js';

describe('weighted LM loss', () => {
  it('divides by B·(T−1), counting pad positions, and weights token t+1', async () => {
    const m = tinyModel(2, 'float64');
    const seqs = [[5, 9, 11, 40, 7], [3, 8, 2]];
    for (const T of [5, 9]) {
      const b = batchToDevice(padBatch(seqs, T, 0), 'float64', 'cpu');
      const w = E.tensor(Array.from({ length: 2 * T }, (_, i) => 0.5 + (i % 3)), [2, T], { dtype: 'float64' });
      const loss = await weightedLmLoss(m.config, m.params, b, w).item();
      // manual: Σ_b Σ_t<T-1 CE(logits[b,t], x[b,t+1]) · w[b,t+1] · m[b,t+1] / (B (T−1))
      const logits = (await causalLmLogits(m.config, m.params, b.ids, { attentionMask: b.mask }).data()) as Float64Array;
      const V = 512;
      let s = 0;
      for (let r = 0; r < 2; r++) {
        for (let t = 0; t < T - 1; t++) {
          if (!b.host.mask[r * T + t + 1]) continue;
          const row = logits.subarray((r * T + t) * V, (r * T + t + 1) * V);
          const mx = Math.max(...row);
          const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
          s += (lse - row[b.host.ids[r * T + t + 1]!]!) * (0.5 + ((r * T + t + 1) % 3));
        }
      }
      expect(loss).toBeCloseTo(s / (2 * (T - 1)), 12);
    }
    disposeModel(m);
  });
});

describe('token weightings', () => {
  const tok = tokenizer();
  const text = 'In 1873, Mira Kessel founded the Zorblat Institute in Varnholm.';
  const ids = tok.encode(text);
  const T = ids.length + 3;
  const batch = () => batchToDevice(padBatch([ids], T, 0), 'float32', 'cpu');

  it('uniform is the attention mask', async () => {
    const w = await uniformWeighting().weights(batch()).data();
    expect(Array.from(w)).toEqual([...ids.map(() => 1), 0, 0, 0]);
  });
  it('SSM marks names and dates, not plain words, and zeroes pads', async () => {
    const w = Array.from(await ssmWeighting(tok).weights(batch()).data());
    const pieces = tok.decodeEach(ids);
    const weightOf = (piece: string) => w[pieces.findIndex((p) => p.includes(piece))];
    expect(weightOf('Kessel')).toBe(1);
    expect(weightOf('Varnholm')).toBe(1);
    expect(weightOf(' 18')).toBe(1);
    expect(weightOf(' founded')).toBe(0);
    expect(w.slice(ids.length)).toEqual([0, 0, 0]);
  });
  it('TF-IDF weights are non-negative, larger for rare words, zero on pads', async () => {
    const corpus = [text, 'The river near Varnholm flooded 3 times before 1900.', 'Who founded the institute? Mira did.'];
    const w = Array.from(await tfidfWeighting(tok, corpus, null).weights(batch()).data());
    expect(w.every((x) => x >= 0)).toBe(true);
    expect(w.slice(ids.length)).toEqual([0, 0, 0]);
    expect(Math.max(...w)).toBeGreaterThan(0);
    const withThreshold = Array.from(await tfidfWeighting(tok, corpus, 0.9).weights(batch()).data());
    expect(withThreshold.filter((x) => x > 0).length).toBeLessThan(w.filter((x) => x > 0).length);
  });
  it('a fresh CaMeLS weight model gives softplus_3(0) = ln2/3 on real tokens', async () => {
    const m = tinyModel(4);
    const body = Object.fromEntries(Object.entries(m.params).filter(([k]) => k.startsWith('transformer.')));
    const wm = newWeightModel(m.config, {}, body, 8, 1);
    const w = Array.from(await camelsWeighting(wm).weights(batch()).data());
    for (let i = 0; i < ids.length; i++) expect(w[i]).toBeCloseTo(Math.log(2) / 3, 6);
    expect(w.slice(ids.length)).toEqual([0, 0, 0]);
    disposeModel(m);
  });
});
