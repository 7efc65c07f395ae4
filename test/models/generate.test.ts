// Generation: greedy and beam search reproduce transformers 5.17 (greedy_out, beam4_out of the golden
// fixtures) on cpu float64/float32 and webgpu; left-padded batches give each prompt's solo result;
// EOS stops rows; beam-search scoring, the rank rule for finishing and the three early-stopping
// modes are checked on a hand-computed table model; diverse group beam search (12 beams, 4 groups,
// penalty 10, as the CaMeLS evaluation) gives distinct group leaders and with one group equals beam
// search; no device memory is left behind.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { DType, DeviceName } from '../../engine/index.js';
import { causalLmLogits } from '../../models/gpt.js';
import { disposeModel, loadPretrained, type CausalLM } from '../../models/pretrained.js';
import {
  KvDecoder,
  beamSearch,
  generate,
  groupBeamSearch,
  readGenerationConfig,
  resolveGenerateOptions,
  hostNextTokens,
  type GenerateOptions,
  type NextTokenSource,
  type NextTokens,
} from '../../models/generate.js';
import { deviceUnderTest } from '../engine/webgpu-required.js';
import { GOLDEN, MODELS, ints, openExpected } from './golden.js';

const BEAM4: GenerateOptions = { maxNewTokens: 8, numBeams: 4, earlyStopping: true, lengthPenalty: 1 };

function fixture(model: string): { prompt: number[]; greedy: number[]; beam4: number[] } {
  const f = openExpected(model);
  try {
    return { prompt: ints(f, 'greedy_prompt').data, greedy: ints(f, 'greedy_out').data, beam4: ints(f, 'beam4_out').data };
  } finally {
    f.close();
  }
}

async function withModel<T>(model: string, device: DeviceName, dtype: DType, fn: (lm: CausalLM) => Promise<T>): Promise<T> {
  const lm = loadPretrained(path.join(GOLDEN, model), { device, dtype, trainable: false });
  try {
    return await fn(lm);
  } finally {
    disposeModel(lm);
  }
}

/** Sum of the log-probs of `tokens` after `prompt` from one full forward (no cache). */
async function sequenceLogProb(lm: CausalLM, prompt: number[], tokens: number[]): Promise<number> {
  const ids = [...prompt, ...tokens];
  const lp = E.tidy(() =>
    E.noGrad(() => {
      const x = E.tensor(ids, [1, ids.length], { dtype: 'int32', device: lm.device });
      const logits = causalLmLogits(lm.config, lm.params, x);
      return E.logSoftmax(E.reshape(logits, [ids.length, lm.config.vocabSize]));
    }),
  );
  const data = await lp.data();
  lp.dispose();
  const V = lm.config.vocabSize;
  let s = 0;
  tokens.forEach((t, i) => (s += data[(prompt.length - 1 + i) * V + t]!));
  return s;
}

describe('generate: golden fixtures (transformers 5.17)', () => {
  it('the fixtures ask for eos = pad = 0 through generation_config.json and config.json', () => {
    for (const m of MODELS) {
      expect(readGenerationConfig(path.join(GOLDEN, m))).toMatchObject({ eosTokenId: 0 });
    }
    expect(readGenerationConfig('/nonexistent-dir')).toEqual({});
  });

  for (const dtype of ['float64', 'float32'] as const) {
    for (const m of MODELS) {
      it(`${m} cpu ${dtype}: greedy_out and beam4_out`, async () => {
        const fx = fixture(m);
        await withModel(m, 'cpu', dtype, async (lm) => {
          const g = await generate(lm, [fx.prompt], { maxNewTokens: 10 });
          expect(g.tokens[0]).toEqual(fx.greedy);
          expect(g.newTokens[0]).toEqual(fx.greedy.slice(fx.prompt.length));
          expect(g.sequences[0]![0]!.eos).toBe(false);
          const b = await generate(lm, [fx.prompt], BEAM4);
          expect(b.tokens[0]).toEqual(fx.beam4);
          // the sequence score is the mean log-prob of the new tokens (length penalty 1, no EOS)
          const newTokens = fx.beam4.slice(fx.prompt.length);
          const lp = await sequenceLogProb(lm, fx.prompt, newTokens);
          expect(b.scores[0]).toBeCloseTo(lp / newTokens.length, dtype === 'float64' ? 9 : 4);
        });
      });
    }
  }

  it('tiny-gpt2 on webgpu: greedy_out and beam4_out', async () => {
    if (!(await deviceUnderTest('webgpu'))) return;
    const fx = fixture('tiny-gpt2');
    await withModel('tiny-gpt2', 'webgpu', 'float32', async (lm) => {
      expect((await generate(lm, [fx.prompt], { maxNewTokens: 10 })).tokens[0]).toEqual(fx.greedy);
      expect((await generate(lm, [fx.prompt], BEAM4)).tokens[0]).toEqual(fx.beam4);
    });
  });
});

describe('generate: batches, EOS, group beam search (cpu float64)', () => {
  const other = [5, 77, 301, 12, 250, 99, 1, 433, 260]; // a second, longer prompt

  for (const m of MODELS) {
    it(`${m}: a left-padded batch gives each prompt's solo result (greedy, beam, group beam)`, async () => {
      const fx = fixture(m);
      await withModel(m, 'cpu', 'float64', async (lm) => {
        const short = fx.prompt.slice(0, 4);
        const prompts = [short, other, fx.prompt];
        const settings: GenerateOptions[] = [
          { maxNewTokens: 10 },
          { ...BEAM4, numReturnSequences: 2 },
          { maxNewTokens: 6, numBeams: 12, numBeamGroups: 4, diversityPenalty: 10, numReturnSequences: 3 },
        ];
        for (const opts of settings) {
          const batch = await generate(lm, prompts, opts);
          for (let i = 0; i < prompts.length; i++) {
            const solo = await generate(lm, [prompts[i]!], opts);
            expect(batch.tokens[i]).toEqual(solo.tokens[0]);
            expect(batch.sequences[i]!.map((s) => s.tokens)).toEqual(solo.sequences[0]!.map((s) => s.tokens));
            batch.sequences[i]!.forEach((s, j) => expect(s.score).toBeCloseTo(solo.sequences[0]![j]!.score, 9));
          }
          expect(batch.tokens[2]!.slice(0, fx.prompt.length)).toEqual(fx.prompt);
        }
        // the golden results hold inside a padded batch too
        expect((await generate(lm, prompts, { maxNewTokens: 10 })).tokens[2]).toEqual(fx.greedy);
        expect((await generate(lm, prompts, BEAM4)).tokens[2]).toEqual(fx.beam4);
      });
    });
  }

  it('greedy stops a row at EOS (kept as its last token) while the others go on', async () => {
    const fx = fixture('tiny-gpt-neo'); // greedy continues 423 423 37 118 5 5 ...
    await withModel('tiny-gpt-neo', 'cpu', 'float64', async (lm) => {
      const free = await generate(lm, [fx.prompt, other], { maxNewTokens: 10 });
      expect(free.tokens[0]).toEqual(fx.greedy);
      const out = await generate(lm, [fx.prompt, other], { maxNewTokens: 10, eosTokenId: 37 });
      expect(out.newTokens[0]).toEqual([423, 423, 37]);
      expect(out.sequences[0]![0]!.eos).toBe(true);
      const solo = await generate(lm, [other], { maxNewTokens: 10, eosTokenId: 37 });
      expect(out.tokens[1]).toEqual(solo.tokens[0]);
      // several EOS ids: the first one met stops
      const multi = await generate(lm, [fx.prompt], { maxNewTokens: 10, eosTokenId: [118, 37] });
      expect(multi.newTokens[0]).toEqual([423, 423, 37]);
      // greedy score = sum of the chosen log-probs
      expect(out.scores[0]).toBeCloseTo(await sequenceLogProb(lm, fx.prompt, [423, 423, 37]), 9);
      // maxNewTokens 0: the prompt back
      expect((await generate(lm, [fx.prompt], { maxNewTokens: 0 })).tokens[0]).toEqual(fx.prompt);
    });
  });

  it('beam search with a frequent EOS: finished scores are sum_logprobs / new_length ** lengthPenalty (EOS counted)', async () => {
    const fx = fixture('tiny-gpt-neo'); // its beams end in 37 at several lengths
    await withModel('tiny-gpt-neo', 'cpu', 'float64', async (lm) => {
      for (const lengthPenalty of [1, 2, -0.5]) {
        for (const earlyStopping of [true, false, 'never'] as const) {
          const out = await generate(lm, [fx.prompt], { maxNewTokens: 8, numBeams: 4, numReturnSequences: 4, eosTokenId: 37, lengthPenalty, earlyStopping });
          const seqs = out.sequences[0]!;
          expect(seqs.length).toBe(4);
          expect(seqs.some((s) => s.eos)).toBe(true);
          for (let j = 0; j < seqs.length; j++) {
            const s = seqs[j]!;
            if (j > 0) expect(s.score).toBeLessThanOrEqual(seqs[j - 1]!.score);
            expect(s.eos).toBe(s.newTokens[s.newTokens.length - 1] === 37);
            expect(s.newTokens.slice(0, -1)).not.toContain(37);
            if (!s.eos) expect(s.newTokens.length).toBe(8);
            const lp = await sequenceLogProb(lm, fx.prompt, s.newTokens);
            expect(s.score).toBeCloseTo(lp / s.newTokens.length ** lengthPenalty, 9);
          }
        }
      }
    });
  });

  it('group beam search: 12 beams / 4 groups / penalty 10 gives distinct group leaders; one group equals beam search', async () => {
    const fx = fixture('tiny-gpt2');
    await withModel('tiny-gpt2', 'cpu', 'float64', async (lm) => {
      const opts: GenerateOptions = { maxNewTokens: 8, numBeams: 12, numBeamGroups: 4, diversityPenalty: 10, numReturnSequences: 12 };
      const out = await generate(lm, [fx.prompt], opts);
      const seqs = out.sequences[0]!;
      expect(seqs.length).toBe(12);
      for (let j = 1; j < seqs.length; j++) expect(seqs[j]!.score).toBeLessThanOrEqual(seqs[j - 1]!.score);
      expect(out.tokens[0]).toEqual(seqs[0]!.tokens);
      const leaders = [0, 1, 2, 3].map((g) => seqs.find((s) => s.group === g));
      for (const l of leaders) expect(l).toBeDefined();
      const keys = new Set(leaders.map((l) => l!.newTokens.join(',')));
      expect(keys.size).toBe(4);
      // the groups start on different tokens: each later group is pushed off the earlier groups' picks
      expect(new Set(leaders.map((l) => l!.newTokens[0])).size).toBe(4);
      // group 0 is never penalised: its scores are plain mean log-probs
      const g0 = leaders[0]!;
      expect(g0.score).toBeCloseTo((await sequenceLogProb(lm, fx.prompt, g0.newTokens)) / g0.newTokens.length, 9);
      // without a penalty every group repeats group 0
      const same = await generate(lm, [fx.prompt], { ...opts, diversityPenalty: 0 });
      const byGroup = [0, 1, 2, 3].map((g) => same.sequences[0]!.filter((s) => s.group === g).map((s) => s.newTokens.join(',')).sort());
      for (const g of byGroup) expect(g).toEqual(byGroup[0]);

      // the group implementation with a single group is plain beam search (also when beams finish at EOS)
      for (const [eosTokenId, earlyStopping] of [[0, true], [17, true], [17, false], [167, 'never']] as const) {
        const o = resolveGenerateOptions(lm, { maxNewTokens: 8, numBeams: 4, numReturnSequences: 4, eosTokenId, earlyStopping });
        const run = async (search: typeof beamSearch) => {
          const dec = new KvDecoder(lm, [fx.prompt, other], o.padTokenId);
          try {
            return await search(dec, 2, o);
          } finally {
            dec.dispose();
          }
        };
        const plain = await run(beamSearch);
        const grouped = await run((src, n, bo) => groupBeamSearch(src, n, { ...bo, numBeamGroups: 1, diversityPenalty: 10 }));
        expect(grouped.map((p) => p.map((h) => h.tokens))).toEqual(plain.map((p) => p.map((h) => h.tokens)));
        grouped.forEach((p, i) => p.forEach((h, j) => expect(h.score).toBeCloseTo(plain[i]![j]!.score, 9)));
      }
    });
  });

  it('leaves no device memory behind and rejects bad arguments', async () => {
    const fx = fixture('tiny-gpt2');
    await withModel('tiny-gpt2', 'cpu', 'float32', async (lm) => {
      const backend = E.getBackend('cpu');
      const before = backend.liveCount();
      await generate(lm, [fx.prompt, other], { maxNewTokens: 5 });
      await generate(lm, [fx.prompt, other], { ...BEAM4, eosTokenId: 17 });
      await generate(lm, [fx.prompt, other], { maxNewTokens: 5, numBeams: 6, numBeamGroups: 3, diversityPenalty: 1 });
      expect(backend.liveCount()).toBe(before);
      await expect(generate(lm, [[]], { maxNewTokens: 2 })).rejects.toThrow(/empty/);
      await expect(generate(lm, [[1, 2, 9999]], { maxNewTokens: 2 })).rejects.toThrow(/vocabulary/);
      await expect(generate(lm, [fx.prompt], { maxNewTokens: 2, numBeams: 4, numBeamGroups: 3 })).rejects.toThrow(/numBeamGroups/);
      await expect(generate(lm, [fx.prompt], { maxNewTokens: 2, numReturnSequences: 2 })).rejects.toThrow(/numReturnSequences/);
      await expect(generate(lm, [fx.prompt], { maxNewTokens: 2, numBeams: 2, numReturnSequences: 3 })).rejects.toThrow(/numReturnSequences/);
      await expect(generate(lm, [fx.prompt], { maxNewTokens: 60 })).rejects.toThrow(/position/);
      expect(backend.liveCount()).toBe(before);
    });
  });
});

// ------------------------------------------------------------------------------------------------
// A table model: log-probs chosen per prefix, so beam-search decisions can be worked out by hand.

const EOS = 0;
class TableSource implements NextTokenSource {
  private rows: string[] = [];
  steps = 0;
  constructor(
    private readonly table: Record<string, number[]>,
    private readonly fallback: number[],
    private readonly prompts: number,
  ) {}
  private lp(): NextTokens {
    const V = this.fallback.length;
    const data = new Float64Array(this.rows.length * V);
    this.rows.forEach((k, r) => data.set(this.table[k] ?? this.fallback, r * V));
    return hostNextTokens(this.rows.length, V, data);
  }
  async start(): Promise<NextTokens> {
    this.rows = Array.from({ length: this.prompts }, () => '');
    return this.lp();
  }
  async step(parents: readonly number[], tokens: readonly number[]): Promise<NextTokens> {
    this.steps++;
    this.rows = parents.map((p, i) => (this.rows[p] ? `${this.rows[p]},${tokens[i]}` : `${tokens[i]}`));
    return this.lp();
  }
  dispose(): void {}
}

describe('beam search rules on a table model (worked out by hand)', () => {
  //         EOS    1     2     3
  const table = {
    '': [-3, -0.1, -0.2, -4],
    '1': [-0.3, -1.0, -2.5, -5],
    '2': [-0.4, -2.0, -2.7, -5],
    '1,1': [-0.1, -3, -3.5, -4],
  };
  const fallback = [-6, -3, -4, -5];
  const base = { maxNewTokens: 4, numBeams: 2, numReturnSequences: 2, eosTokenIds: [EOS], padTokenId: EOS, lengthPenalty: 2 };
  const run = async (earlyStopping: boolean | 'never', extra: Partial<typeof base> = {}) => {
    const src = new TableSource(table, fallback, 1);
    const out = await beamSearch(src, 1, { ...base, ...extra, earlyStopping });
    return { hyps: out[0]!, steps: src.steps };
  };

  it('EOS ranked below numBeams does not finish; finished scores divide by the new length (EOS included) ** lengthPenalty', async () => {
    // step 1: candidates 1 (-0.1), 2 (-0.2), EOS (-3, rank 2: not finished), 3
    // step 2: [1,EOS] -0.4 and [2,EOS] -0.6 rank 0 and 1: finished with -0.4/2², -0.6/2²
    for (const es of [true, false] as const) {
      const { hyps, steps } = await run(es);
      expect(hyps.map((h) => h.tokens)).toEqual([[1, EOS], [2, EOS]]);
      expect(hyps[0]!.score).toBeCloseTo(-0.4 / 4, 12);
      expect(hyps[1]!.score).toBeCloseTo(-0.6 / 4, 12);
      expect(hyps.every((h) => h.eos)).toBe(true);
      // true: numBeams finished; false: best running -1.1/2² cannot beat -0.15 — stop after 2 tokens
      expect(steps).toBe(1);
    }
  });

  it("'never' keeps searching while the running beam, scored at maxNewTokens, could still win", async () => {
    // after step 2 the best running beam [1,1] (-1.1) could reach -1.1/4² > -0.15; step 3 finds
    // [1,1,EOS] = -1.2/3² = -0.1333, which displaces [2,EOS]
    const { hyps, steps } = await run('never');
    expect(hyps.map((h) => h.tokens)).toEqual([[1, EOS], [1, 1, EOS]]);
    expect(hyps[1]!.score).toBeCloseTo(-1.2 / 9, 12);
    expect(steps).toBe(2);
  });

  it('at maxNewTokens the top-ranked candidates finish whatever their token', async () => {
    const { hyps } = await run(false, { maxNewTokens: 1 });
    expect(hyps.map((h) => h.tokens)).toEqual([[1], [2]]);
    expect(hyps.map((h) => h.score)).toEqual([-0.1, -0.2]);
    expect(hyps.some((h) => h.eos)).toBe(false);
  });

  it('group beam search: group 1 avoids the tokens group 0 picked at the same step', async () => {
    // 2 groups of 1 beam: group 0 takes 1 at step 1; group 1 sees 1 at -0.1 - 10 and takes 2
    const src = new TableSource(table, fallback, 1);
    const out = await groupBeamSearch(src, 1, { ...base, earlyStopping: true, numBeamGroups: 2, diversityPenalty: 10, numReturnSequences: 2 });
    const byGroup = new Map(out[0]!.map((h) => [h.group, h]));
    expect(byGroup.get(0)!.tokens).toEqual([1, EOS]);
    expect(byGroup.get(0)!.score).toBeCloseTo(-0.4 / 4, 12);
    expect(byGroup.get(1)!.tokens[0]).toBe(2);
  });
});
