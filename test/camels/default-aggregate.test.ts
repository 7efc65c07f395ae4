// Aggregation of the default experiment's seeds into results.json and the printed table, on
// hand-made per-seed results (the shape the issue asks for, mean ± sd over seeds, paired intervals).
import { describe, expect, it } from 'vitest';
import { aggregate, formatTable } from '../../camels/tasks/default/aggregate.js';
import type { QuestionResult } from '../../camels/tasks/default/adapt.js';
import { METHODS, type Method, type MethodSeedResult, type SeedResult } from '../../camels/tasks/default/seed-run.js';

/** Two questions on each of `docs` documents; metric values shifted by `shift`. */
function questions(docs: number, nll: number, f1: number): QuestionResult[] {
  return Array.from({ length: docs * 2 }, (_, i) => ({ doc: Math.floor(i / 2), gold: 'g', prediction: 'p', f1: f1 + 0.01 * (i % 3), emStd: (i % 2) as 0 | 1, emRef: 1 as const, nll: nll + 0.1 * (i % 4) }));
}

function seedResult(seed: number, camelsGain: number): SeedResult {
  const methods = {} as Record<Method, MethodSeedResult>;
  METHODS.forEach((m, k) => {
    const good = m === 'CaMeLS' ? camelsGain : 0;
    methods[m] = {
      lr: 1e-3 * (k + 1),
      lrSearch: { best: 1e-3 * (k + 1), interior: m !== 'tfidf', points: [{ lr: 1e-3, nll: 2, f1: 0.1 }, { lr: 3.16e-3, nll: 1.5, f1: 0.2 }] },
      questions: questions(5, 2 - good, 0.3 + good / 10),
      selectivity: { answerWeightShare: m === 'CaMeLS' ? 0.4 : 0.2, answerVsDistractorWeight: m === 'CaMeLS' ? 3 : 1, answerTokenShare: 0.2 },
      adaptSeconds: 1,
    };
  });
  return { seed, documents: 5, questions: 10, tokens: { min: 90, max: 120, context: 144 }, before: questions(5, 3, 0), methods, meta: { steps: 10, bestVal: 1, valHistory: [{ step: 0, val: 2 }, { step: 10, val: 1 }] }, phaseSeconds: { 'pre-train': 10 }, samples: [], seconds: 30, transfer: { lr: 0.1, questions: { uniform: questions(5, 2.5, 0), uniform_matched: questions(5, 2.4, 0), CaMeLS: questions(5, 2.4 - camelsGain / 2, 0) } } };
}

describe('default experiment aggregation', () => {
  const seeds = [seedResult(0, 0.5), seedResult(1, 0.7), seedResult(2, 0.6)];
  const r = aggregate(seeds, { device: 'cpu', seconds: 90 });

  it('has the shape of results.json the issue asks for', () => {
    expect(r.seeds).toEqual([0, 1, 2]);
    for (const m of METHODS) {
      const s = r.methods[m];
      expect(Object.keys(s.lr)).toEqual(['0', '1', '2']);
      for (const k of ['f1', 'em_std', 'em_ref', 'answer_nll', 'answer_weight_share', 'answer_vs_distractor_weight'] as const) {
        expect(Number.isFinite(s[k].mean), `${m} ${k}`).toBe(true);
        expect(Number.isFinite(s[k].sd), `${m} ${k}`).toBe(true);
      }
    }
    expect(Object.keys(r.paired)).toEqual(['CaMeLS-uniform', 'CaMeLS-ssm', 'CaMeLS-tfidf']);
    expect(r.paired['CaMeLS-uniform']!.answer_nll.ci95).toHaveLength(2);
    expect(Object.keys(r.before).sort()).toEqual(['answer_nll', 'em_ref', 'em_std', 'f1']);
    expect(r.seconds).toBe(90);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('computes mean ± sd over seeds and CaMeLS-minus-baseline differences over documents', () => {
    // CaMeLS answer NLL per seed: mean over 10 questions of (2 − gain + 0.1·(i mod 4)) = 2.13 − gain
    expect(r.methods.CaMeLS.answer_nll.mean).toBeCloseTo(2.13 - 0.6, 10);
    expect(r.methods.CaMeLS.answer_nll.sd).toBeCloseTo(0.1, 10);
    expect(r.methods.uniform.answer_nll.sd).toBeCloseTo(0, 10);
    const p = r.paired['CaMeLS-uniform']!;
    expect(p.answer_nll.diff).toBeCloseTo(-0.6, 10);
    expect(p.answer_nll.n).toBe(15);
    expect(p.answer_nll.ci95[0]).toBeLessThanOrEqual(-0.6 + 1e-9);
    expect(p.answer_nll.ci95[1]).toBeGreaterThanOrEqual(-0.6 - 1e-9);
    expect(p.answer_nll.ci95[1]).toBeLessThan(0);
    expect(p.f1.diff).toBeCloseTo(0.06, 10);
    expect(r.methods.CaMeLS.answer_weight_share.mean).toBeCloseTo(0.4, 12);
  });

  it('summarises the SGD transfer check with paired intervals', () => {
    const t = r.transfer_sgd!;
    expect(t.lr).toBe(0.1);
    expect(t.answer_nll.uniform!.mean).toBeCloseTo(2.63, 10);
    expect(t.paired['CaMeLS-uniform_matched']!.diff).toBeCloseTo(-0.3, 10);
    expect(t.paired['CaMeLS-uniform']!.diff).toBeCloseTo(-0.4, 10);
    expect(formatTable(r)).toContain('Transfer check');
    expect(aggregate(seeds.map((s) => ({ ...s, transfer: undefined })), { device: 'cpu', seconds: 1 }).transfer_sgd).toBeNull();
  });

  it('reports the oracle reference row with oracle − uniform and CaMeLS − oracle, when every seed has it', () => {
    expect(r.oracle).toBeNull();
    expect(formatTable(r)).not.toContain('oracle');
    const withOracle = seeds.map((s, i) => ({ ...s, oracle: { ...s.methods.uniform, questions: questions(5, 1.2 + 0.1 * i, 0.5), selectivity: { answerWeightShare: 1, answerVsDistractorWeight: Infinity, answerTokenShare: 0.2 } } }));
    const o = aggregate(withOracle, { device: 'cpu', seconds: 1 });
    expect(o.oracle!.answer_nll.mean).toBeCloseTo(1.33 + 0.1, 10); // 1.2 + 0.13 + mean of 0, 0.1, 0.2
    expect(o.oracle!.paired['oracle-uniform']!.answer_nll.diff).toBeCloseTo(1.43 - 2.13, 10);
    expect(o.oracle!.paired['CaMeLS-oracle']!.answer_nll.diff).toBeCloseTo(2.13 - 0.6 - 1.43, 10);
    expect(Object.keys(o.paired)).toEqual(['CaMeLS-uniform', 'CaMeLS-ssm', 'CaMeLS-tfidf']);
    const t = formatTable(o);
    expect(t).toContain('| oracle† |');
    expect(t).toContain('| oracle-uniform (reference) | -0.700 [');
    expect(aggregate([withOracle[0]!, seeds[1]!], { device: 'cpu', seconds: 1 }).oracle).toBeNull();
  });

  it('prints the table with every method, the intervals and the edge marker', () => {
    const t = formatTable(r);
    for (const m of ['before adaptation', ...METHODS]) expect(t).toContain(`| ${m} |`);
    expect(t).toContain('| CaMeLS-uniform | -0.600 [');
    expect(t).toContain('0.003*, 0.003*, 0.003*'); // tfidf's lr was at an edge
    expect(t).toContain('Seeds 0, 1, 2: 5 test documents / 10 questions per seed');
  });
});
