// Decoding selects on the device: the candidates read from per-row top-k tables (candidates.ts)
// equal a host scan over every token (heavy ties, -Infinity, NaN, penalties of either sign, a
// first k small enough to force re-reads), and KvDecoder reads back only k ids and log-probs per
// row per step (bytes per generated token measured against the [rows, V] readback it replaced)
// and a decoding step uploads only its new token ids and positions (the visibility of the cache
// is made on the device).

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KvDecoder, beamSearch, greedySearch, hostNextTokens, resolveGenerateOptions } from '../../models/generate.js';
import { bestCandidates } from '../../models/generate/candidates.js';
import { TopK } from '../../models/generate/topk.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import * as E from '../../engine/index.js';
import { StepCounter } from '../../bench/counters.js';
import { GOLDEN, MODELS } from './golden.js';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

interface Beam {
  row: number;
  score: number;
}

describe('bestCandidates equals a scan over every token', () => {
  for (let seed = 1; seed <= 40; seed++) {
    it(`random table ${seed}`, async () => {
      const r = rng(seed);
      const rows = 1 + Math.floor(r() * 4);
      const V = 5 + Math.floor(r() * 60);
      const data = Float64Array.from({ length: rows * V }, () => {
        const u = r();
        if (u < 0.05) return NaN;
        if (u < 0.15) return -Infinity;
        return -Math.round(r() * 6) / 2; // coarse: many exact ties
      });
      const beams: Beam[] = Array.from({ length: 1 + Math.floor(r() * 4) }, () => ({ row: Math.floor(r() * rows), score: -Math.round(r() * 4) / 2 }));
      const n = Math.min(1 + Math.floor(r() * 8), beams.length * V);
      const dp = seed % 3 === 0 ? -0.5 : seed % 3 === 1 ? 1.5 : 0;
      const counts = new Map<number, number>();
      for (let j = 0; j < 3; j++) counts.set(Math.floor(r() * V), 1 + j);
      const most = Math.max(...counts.values());
      const score = (v: number, t: number, b: Beam) => v - dp * (counts.get(t) ?? 0) + b.score;
      const want = new TopK(n);
      beams.forEach((b, i) => {
        for (let t = 0; t < V; t++) want.push(score(data[b.row * V + t]!, t, b), i * V + t);
      });
      const got = await bestCandidates(hostNextTokens(rows, V, data), beams, n, 1 + Math.floor(r() * 3), {
        score,
        bound: (v, b) => v - (dp >= 0 ? dp * 0 : dp * most) + b.score,
      });
      expect(got.indices).toEqual(want.indices);
      expect(got.values).toEqual(want.values);
    });
  }
});

describe('KvDecoder reads back only the top k of each row', () => {
  it('bytes per generated token, greedy and beam search (tiny-gpt2, cpu float32)', async () => {
    const lm = loadPretrained(path.join(GOLDEN, 'tiny-gpt2'), { device: 'cpu', dtype: 'float32', trainable: false });
    try {
      const V = lm.config.vocabSize;
      const prompts = [
        [5, 77, 301, 12],
        [5, 77, 301, 12, 250, 99, 1, 433, 260],
      ];
      const o = resolveGenerateOptions(lm, { maxNewTokens: 6, numBeams: 4, earlyStopping: true });
      const greedyDec = new KvDecoder(lm, prompts, o.padTokenId);
      const g = await greedySearch(greedyDec, 2, { ...o, eosTokenIds: [] });
      greedyDec.dispose();
      const greedyTokens = g.reduce((s, p) => s + p[0]!.tokens.length, 0);
      // one id (int32) and one log-prob (float32) per row per step
      expect(greedyDec.bytesRead).toBe(greedyTokens * 8);
      const beamDec = new KvDecoder(lm, prompts, o.padTokenId);
      await beamSearch(beamDec, 2, { ...o, eosTokenIds: [] });
      beamDec.dispose();
      const keep = 2 * o.numBeams;
      const steps = o.maxNewTokens; // no EOS: every step runs
      // start: one row per prompt; then numBeams rows per prompt; (keep + 1) columns of 8 bytes
      const expected = (2 + (steps - 1) * 2 * o.numBeams) * (keep + 1) * 8;
      expect(beamDec.bytesRead).toBe(expected);
      const fullRows = (2 + (steps - 1) * 2 * o.numBeams) * V * 4;
      console.log(
        `generate readback per generated token (tiny-gpt2, V=${V}): greedy ${greedyDec.bytesRead / greedyTokens} B (was ${V * 4} B); ` +
          `beam 4 ${(beamDec.bytesRead / (2 * steps)).toFixed(0)} B per prompt-token (was ${(fullRows / (2 * steps)).toFixed(0)} B)`,
      );
    } finally {
      disposeModel(lm);
    }
  });
});

describe('a decoding step uploads only the new token ids and positions', () => {
  for (const m of MODELS) {
    it(`${m}: left-padded rows, past the local window (cpu float32)`, async () => {
      const lm = loadPretrained(path.join(GOLDEN, m), { device: 'cpu', dtype: 'float32', trainable: false });
      const counter = new StepCounter(E.getBackend('cpu'));
      const dec = new KvDecoder(lm, [[5, 77, 301, 12, 250, 99, 1, 433, 260], [17, 3]], 0);
      try {
        await dec.start();
        for (let step = 0; step < 3; step++) {
          counter.reset();
          const next = await dec.step([0, 1], [7 + step, 9 + step]);
          const counts = counter.read();
          expect(counts.upload_bytes, `step ${step}`).toBe(2 * 4 + 2 * 4); // int32 ids [2, 1] and positions [2, 1]
          expect(counts.readbacks).toBe(0); // nothing read until the search asks for its top k
          await next.top(1);
        }
      } finally {
        dec.dispose();
        counter.detach();
        disposeModel(lm);
      }
    });
  }
});
