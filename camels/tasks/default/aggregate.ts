// Aggregating the seeds of the embedded default: per method the mean ± sd over seeds of each metric
// (each seed's value is its mean over test questions), and for CaMeLS minus each baseline a paired
// bootstrap 95% interval over test documents pooled over seeds (resampled within each seed). Builds
// results.json and the printed table.

import { meanSd, pairedBootstrap, type MeanSd, type PairedDiff } from '../../stats.js';
import { perDocument, type QuestionResult } from './adapt.js';
import type { LrPoint } from './lr-search.js';
import { METHODS, TRANSFER_WEIGHTINGS, type Method, type MethodSeedResult, type SeedResult } from './seed-run.js';

type Metric = 'f1' | 'em_std' | 'em_ref' | 'answer_nll';
const METRIC_OF: Record<Metric, (q: QuestionResult) => number> = {
  f1: (q) => q.f1,
  em_std: (q) => q.emStd,
  em_ref: (q) => q.emRef,
  answer_nll: (q) => q.nll,
};
const METRICS = Object.keys(METRIC_OF) as Metric[];

const seedMean = (qs: readonly QuestionResult[], m: Metric) => qs.reduce((s, q) => s + METRIC_OF[m](q), 0) / Math.max(1, qs.length);
const sd = (x: MeanSd) => ({ mean: x.mean, sd: x.sd });

export interface MethodSummary {
  lr: Record<string, number>;
  lr_interior: Record<string, boolean>;
  lr_curve: Record<string, LrPoint[]>;
  f1: { mean: number; sd: number };
  em_std: { mean: number; sd: number };
  em_ref: { mean: number; sd: number };
  answer_nll: { mean: number; sd: number };
  answer_weight_share: { mean: number; sd: number };
  answer_vs_distractor_weight: { mean: number; sd: number };
  /** Share of answer tokens among the scored tokens (the share uniform weighting gives). */
  answer_token_share: { mean: number; sd: number };
}

export interface DefaultResults {
  seeds: number[];
  methods: Record<Method, MethodSummary>;
  before: Record<Metric, { mean: number; sd: number }>;
  paired: Record<string, Record<Metric, { diff: number; ci95: [number, number]; n: number }>>;
  /**
   * The reference row, not a method: weight 1 on the generator's answer spans, 0 elsewhere, under the
   * same protocol (lr chosen on validation), with oracle − uniform and CaMeLS − oracle paired the same way.
   */
  oracle: (MethodSummary & { paired: Record<string, Record<Metric, { diff: number; ci95: [number, number]; n: number }>> }) | null;
  test: { documents_per_seed: number[]; questions_per_seed: number[]; tokens: { min: number; max: number; context: number } };
  /** Test answer NLL after one SGD pass at the meta-training inner lr (the condition CaMeLS was trained for). */
  transfer_sgd: { lr: number; answer_nll: Record<string, { mean: number; sd: number }>; paired: Record<string, { diff: number; ci95: [number, number]; n: number }> } | null;
  meta_validation: Record<string, { step: number; val: number }[]>;
  phase_seconds: Record<string, Record<string, number>>;
  device: string;
  seconds: number;
}

function summarize(seeds: readonly SeedResult[], per: readonly MethodSeedResult[]): MethodSummary {
  const over = (f: (i: number) => number) => sd(meanSd(per.map((_, i) => f(i))));
  return {
    lr: Object.fromEntries(seeds.map((s, i) => [String(s.seed), per[i]!.lr])),
    lr_interior: Object.fromEntries(seeds.map((s, i) => [String(s.seed), per[i]!.lrSearch.interior])),
    lr_curve: Object.fromEntries(seeds.map((s, i) => [String(s.seed), per[i]!.lrSearch.points])),
    f1: over((i) => seedMean(per[i]!.questions, 'f1')),
    em_std: over((i) => seedMean(per[i]!.questions, 'em_std')),
    em_ref: over((i) => seedMean(per[i]!.questions, 'em_ref')),
    answer_nll: over((i) => seedMean(per[i]!.questions, 'answer_nll')),
    answer_weight_share: over((i) => per[i]!.selectivity.answerWeightShare),
    answer_vs_distractor_weight: over((i) => per[i]!.selectivity.answerVsDistractorWeight),
    answer_token_share: over((i) => per[i]!.selectivity.answerTokenShare),
  };
}

/** Paired bootstrap of a − b per metric, over test documents pooled over seeds. */
function pairedMetrics(seeds: readonly SeedResult[], a: (s: SeedResult) => QuestionResult[], b: (s: SeedResult) => QuestionResult[]): Record<Metric, PairedDiff> {
  const entry = {} as Record<Metric, PairedDiff>;
  for (const k of METRICS) {
    const groups = seeds.map((s) => {
      const x = perDocument(a(s), s.documents, METRIC_OF[k]);
      const y = perDocument(b(s), s.documents, METRIC_OF[k]);
      return x.map((v, d) => [v, y[d]!] as [number, number]).filter(([u, w]) => Number.isFinite(u) && Number.isFinite(w));
    });
    entry[k] = pairedBootstrap(groups, { seed: 20231 + METRICS.indexOf(k) });
  }
  return entry;
}

export function aggregate(seeds: readonly SeedResult[], extra: { device: string; seconds: number }): DefaultResults {
  const methods = {} as Record<Method, MethodSummary>;
  for (const m of METHODS) methods[m] = summarize(seeds, seeds.map((s) => s.methods[m]));
  const withOracle = seeds.length > 0 && seeds.every((s) => s.oracle);
  const oracle = withOracle ? summarize(seeds, seeds.map((s) => s.oracle!)) : null;
  const before = Object.fromEntries(METRICS.map((k) => [k, sd(meanSd(seeds.map((s) => seedMean(s.before, k))))])) as DefaultResults['before'];
  const paired: DefaultResults['paired'] = {};
  for (const b of METHODS.filter((x) => x !== 'CaMeLS')) paired[`CaMeLS-${b}`] = pairedMetrics(seeds, (s) => s.methods.CaMeLS.questions, (s) => s.methods[b].questions);
  const oraclePaired = withOracle
    ? { 'oracle-uniform': pairedMetrics(seeds, (s) => s.oracle!.questions, (s) => s.methods.uniform.questions), 'CaMeLS-oracle': pairedMetrics(seeds, (s) => s.methods.CaMeLS.questions, (s) => s.oracle!.questions) }
    : null;
  const withTransfer = seeds.every((s) => s.transfer);
  const transfer_sgd: DefaultResults['transfer_sgd'] = withTransfer
    ? {
        lr: seeds[0]!.transfer!.lr,
        answer_nll: Object.fromEntries(TRANSFER_WEIGHTINGS.map((k) => [k, sd(meanSd(seeds.map((s) => seedMean(s.transfer!.questions[k], 'answer_nll'))))])),
        paired: Object.fromEntries((['uniform', 'uniform_matched'] as const).map((b) => [`CaMeLS-${b}`, pairedBootstrap(seeds.map((s) => {
          const a = perDocument(s.transfer!.questions.CaMeLS, s.documents, METRIC_OF.answer_nll);
          const c = perDocument(s.transfer!.questions[b], s.documents, METRIC_OF.answer_nll);
          return a.map((x, d) => [x, c[d]!] as [number, number]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
        }), { seed: 777 })])),
      }
    : null;
  return {
    seeds: seeds.map((s) => s.seed),
    methods,
    before,
    paired,
    oracle: oracle && oraclePaired ? { ...oracle, paired: oraclePaired } : null,
    test: {
      documents_per_seed: seeds.map((s) => s.documents),
      questions_per_seed: seeds.map((s) => s.questions),
      tokens: { min: Math.min(...seeds.map((s) => s.tokens.min)), max: Math.max(...seeds.map((s) => s.tokens.max)), context: seeds[0]?.tokens.context ?? 0 },
    },
    transfer_sgd,
    meta_validation: Object.fromEntries(seeds.map((s) => [String(s.seed), s.meta.valHistory])),
    phase_seconds: Object.fromEntries(seeds.map((s) => [String(s.seed), s.phaseSeconds])),
    device: extra.device,
    seconds: extra.seconds,
  };
}

const pm = (x: { mean: number; sd: number }, scale = 1, digits = 1) => `${(scale * x.mean).toFixed(digits)} ± ${(scale * x.sd).toFixed(digits)}`;
const ci = (p: { diff: number; ci95: [number, number] }, scale = 1, digits = 1) => `${(scale * p.diff).toFixed(digits)} [${(scale * p.ci95[0]).toFixed(digits)}, ${(scale * p.ci95[1]).toFixed(digits)}]`;

function oracleRow(r: DefaultResults, s: MethodSummary): string {
  const lrs = r.seeds.map((seed) => `${s.lr[String(seed)]}${s.lr_interior[String(seed)] ? '' : '*'}`).join(', ');
  return `| oracle† | ${lrs} | ${pm(s.answer_nll, 1, 3)} | ${pm(s.f1, 100)} | ${pm(s.em_std, 100)} | ${pm(s.em_ref, 100)} | ${pm(s.answer_weight_share, 100)} | – |`;
}

/** The printed summary: per-method table and the paired comparisons. */
export function formatTable(r: DefaultResults): string {
  const nDocs = r.test.documents_per_seed.reduce((a, b) => a + b, 0);
  const lines = [
    `Seeds ${r.seeds.join(', ')}: ${r.test.documents_per_seed[0]} test documents / ${r.test.questions_per_seed[0]} questions per seed (tokens per document ${r.test.tokens.min}–${r.test.tokens.max}, context ${r.test.tokens.context}); mean ± sd over seeds`,
    '',
    '| weighting | lr (per seed) | answer NLL ↓ | F1 (%) | EM std. (%) | EM ref. (%) | answer weight share (%) | answer ÷ distractor weight |',
    '|---|---|---|---|---|---|---|---|',
    `| before adaptation | – | ${pm(r.before.answer_nll, 1, 3)} | ${pm(r.before.f1, 100)} | ${pm(r.before.em_std, 100)} | ${pm(r.before.em_ref, 100)} | – | – |`,
    ...METHODS.map((m) => {
      const s = r.methods[m];
      const lrs = r.seeds.map((seed) => `${s.lr[String(seed)]}${s.lr_interior[String(seed)] ? '' : '*'}`).join(', ');
      return `| ${m} | ${lrs} | ${pm(s.answer_nll, 1, 3)} | ${pm(s.f1, 100)} | ${pm(s.em_std, 100)} | ${pm(s.em_ref, 100)} | ${pm(s.answer_weight_share, 100)} | ${pm(s.answer_vs_distractor_weight, 1, 2)} |`;
    }),
    ...(r.oracle ? [oracleRow(r, r.oracle)] : []),
    '',
    `CaMeLS minus baseline, paired over ${nDocs} test documents pooled over seeds (bootstrap 95% CI; answer NLL: negative favours CaMeLS):`,
    '',
    '| comparison | Δ answer NLL | Δ F1 (points) | Δ EM std. (points) |',
    '|---|---|---|---|',
    ...Object.entries(r.paired).map(([k, p]) => `| ${k} | ${ci(p.answer_nll, 1, 3)} | ${ci(p.f1, 100)} | ${ci(p.em_std, 100)} |`),
    ...(r.oracle ? Object.entries(r.oracle.paired).map(([k, p]) => `| ${k} (reference) | ${ci(p.answer_nll, 1, 3)} | ${ci(p.f1, 100)} | ${ci(p.em_std, 100)} |`) : []),
  ];
  if (r.oracle) lines.push('', '† oracle: weight 1 on the answer spans the generator recorded, 0 elsewhere — a reference for the headroom of token weighting under this protocol, not a method.');
  if (r.transfer_sgd) {
    const t = r.transfer_sgd;
    lines.push(
      '',
      `Transfer check — one SGD pass at the meta-training inner lr ${t.lr} (the condition the weights were learned for), test answer NLL: ${TRANSFER_WEIGHTINGS.map((k) => `${k} ${pm(t.answer_nll[k]!, 1, 3)}`).join(', ')}; ${Object.entries(t.paired).map(([k, p]) => `${k} ${ci(p, 1, 3)}`).join('; ')}`,
    );
  }
  if (METHODS.some((m) => Object.values(r.methods[m].lr_interior).some((x) => !x))) lines.push('', '* the chosen lr is at an edge of the evaluated grid (the extension budget ran out)');
  return lines.join('\n');
}
