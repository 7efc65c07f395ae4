// Answer metrics (spec §3.5) and the evaluation CSV (§3.6).
//
// - normalizeAnswer: the SQuAD normaliser (lowercase, drop ASCII punctuation, drop the articles
//   a/an/the as whole words, collapse whitespace), with Python's \b and str.split() semantics.
// - f1Score: SQuAD bag-of-tokens F1 (0 when nothing overlaps, including two empty answers).
// - exactMatch: the standard SQuAD EM (normalised strings equal).
// - referenceExactMatch: the reference's EM, a PREFIX match: the normalised prediction is cut to the
//   normalised gold's character length before comparing, so "paris france" vs "paris" and "19901" vs
//   "1990" both score 1 (§3.5, §9 item 18). Use it to compare with the paper's numbers.
// There is one gold per question in the reference (the shortest reference answer), so scoring takes a
// single gold; `maxOverReferences` is the standard SQuAD max for other uses.

import { pySplit } from './data/pytext.js';

const ASCII_PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'); // Python string.punctuation
// Python's re \b under Unicode: a word character is a letter, a number or '_'.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/** SQuAD answer normalisation (`normalize_answer`). */
export function normalizeAnswer(s: string): string {
  let text = s.toLowerCase();
  let kept = '';
  for (const ch of text) if (!ASCII_PUNCTUATION.has(ch)) kept += ch;
  text = kept.replace(ARTICLES, ' ');
  return pySplit(text).join(' ');
}

/** Standard SQuAD exact match: 1 if the normalised strings are equal. */
export function exactMatch(prediction: string, gold: string): 0 | 1 {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

/**
 * The reference's exact match (`exact_match(pred, gold, match_length=False)`): the normalised prediction
 * truncated to the normalised gold's length must equal the normalised gold. With `matchLength` it is the
 * standard EM. (Lengths in UTF-16 units here, code points in Python: the comparison result is the same,
 * because a prefix equal to a well-formed string ends on a code-point boundary.)
 */
export function referenceExactMatch(prediction: string, gold: string, matchLength = false): 0 | 1 {
  let p = normalizeAnswer(prediction);
  const g = normalizeAnswer(gold);
  if (!matchLength) p = p.slice(0, g.length);
  return p === g ? 1 : 0;
}

/** SQuAD token F1 between a prediction and one gold answer. */
export function f1Score(prediction: string, gold: string): number {
  const predTokens = pySplit(normalizeAnswer(prediction));
  const goldTokens = pySplit(normalizeAnswer(gold));
  const goldCounts = new Map<string, number>();
  for (const t of goldTokens) goldCounts.set(t, (goldCounts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of predTokens) {
    const c = goldCounts.get(t) ?? 0;
    if (c > 0) {
      same += 1;
      goldCounts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = (1.0 * same) / predTokens.length;
  const recall = (1.0 * same) / goldTokens.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Standard SQuAD evaluation over several references: the max of `metric` (not used by the reference). */
export function maxOverReferences(
  metric: (prediction: string, gold: string) => number,
  prediction: string,
  references: readonly string[],
): number {
  if (references.length === 0) throw new Error('maxOverReferences: no reference answers');
  let best = -Infinity;
  for (const r of references) best = Math.max(best, metric(prediction, r));
  return best;
}

export type EmMode = 'reference' | 'standard';

/** The scores of one question with k predictions (the k returned beams). */
export interface QuestionScore {
  question: string;
  gold: string;
  predictions: string[];
  /** F1 of each prediction against the gold. */
  f1s: number[];
  /** 1 if ANY prediction matches (the reference's loop). */
  em: 0 | 1;
}

/** Score one question: EM over any of the k predictions (reference prefix EM by default), F1 of each. */
export function scoreQuestion(
  question: string,
  gold: string,
  predictions: readonly string[],
  emMode: EmMode = 'reference',
): QuestionScore {
  if (predictions.length === 0) throw new Error(`scoreQuestion: no predictions for question ${JSON.stringify(question)}`);
  const em = predictions.some((p) => (emMode === 'reference' ? referenceExactMatch(p, gold) : exactMatch(p, gold)) === 1);
  return { question, gold, predictions: [...predictions], f1s: predictions.map((p) => f1Score(p, gold)), em: em ? 1 : 0 };
}

/** numpy's pairwise summation of a contiguous float64 run (the inner loop of `np.add.reduce`). */
function pairwiseSum(a: readonly number[], start: number, n: number): number {
  if (n < 8) {
    let res = -0.0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => a[start + j]!);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j]! += a[start + i + j]!;
    let res = (r[0]! + r[1]! + (r[2]! + r[3]!)) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** `np.add.reduce` of a 1-D float64 array: the first element, plus the pairwise sum of the rest. */
export function numpySum(values: readonly number[]): number {
  if (values.length === 0) return 0;
  return values[0]! + pairwiseSum(values, 1, values.length - 1);
}

/** numpy `mean` and population `std` (ddof 0), with numpy's summation order. */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: NaN, std: NaN };
  const mean = numpySum(values) / values.length;
  const sq = values.map((v) => (v - mean) * (v - mean));
  return { mean, std: Math.sqrt(numpySum(sq) / values.length) };
}

export interface EvalSummary {
  count: number;
  emCorrect: number;
  /** emCorrect / count. */
  em: number;
  /** Per question: mean F1 over its k predictions; then mean and std over questions. */
  avgF1: { mean: number; std: number };
  /** Per question: max F1 over its k predictions; then mean and std over questions. */
  maxF1: { mean: number; std: number };
}

/** Aggregate question scores as the reference's `qa_eval` does. */
export function summarizeScores(scores: readonly QuestionScore[]): EvalSummary {
  const emCorrect = scores.reduce((s, q) => s + q.em, 0);
  const avg = scores.map((q) => numpySum(q.f1s) / q.f1s.length);
  const max = scores.map((q) => Math.max(...q.f1s));
  return {
    count: scores.length,
    emCorrect,
    em: scores.length === 0 ? NaN : emCorrect / scores.length,
    avgF1: meanStd(avg),
    maxF1: meanStd(max),
  };
}

// ---------------------------------------------------------------------------------------------------
// final_em.csv in the reference's exact text format (Python csv.writer + repr of lists).

/** Python `repr(float)`: shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16, else 'e'. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  let out: string;
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    out = `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  } else if (exp < 0) {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    out = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  } else {
    out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return neg ? `-${out}` : out;
}

const NON_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/** Python `repr(str)`. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      if (cp < 0x100) out += '\\x' + cp.toString(16).padStart(2, '0');
      else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
      else out += '\\U' + cp.toString(16).padStart(8, '0');
    } else out += ch;
  }
  return out + quote;
}

/** Python's repr of one F1 value: the reference's f1_score returns the int 0 when nothing overlaps. */
function pyF1Repr(f1: number): string {
  return f1 === 0 ? '0' : pyFloatRepr(f1);
}

/** One field as Python's csv.writer (excel dialect, QUOTE_MINIMAL) writes it. */
function csvField(value: string, onlyField: boolean): string {
  if (/[",\r\n]/.test(value) || (onlyField && value === '')) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

function csvRow(fields: readonly string[]): string {
  return fields.map((f) => csvField(f, fields.length === 1)).join(',') + '\r\n';
}

/**
 * The reference's `final_em.csv` / `init_em.csv` text: no header; one row per question
 * `[question, gold, repr(predictions), repr(f1s), em]`, then the rows `EM`, `avg_f1`, `max_f1`
 * (numpy float formatting = Python repr; rows end in \r\n like csv.writer).
 */
export function formatEvalCsv(scores: readonly QuestionScore[]): string {
  let out = '';
  for (const q of scores) {
    out += csvRow([
      q.question,
      q.gold,
      `[${q.predictions.map(pyStrRepr).join(', ')}]`,
      `[${q.f1s.map(pyF1Repr).join(', ')}]`,
      String(q.em),
    ]);
  }
  const s = summarizeScores(scores);
  out += csvRow(['EM', String(s.emCorrect), pyFloatRepr(s.em)]);
  out += csvRow(['avg_f1', pyFloatRepr(s.avgF1.mean), pyFloatRepr(s.avgF1.std)]);
  out += csvRow(['max_f1', pyFloatRepr(s.maxF1.mean), pyFloatRepr(s.maxF1.std)]);
  return out;
}
