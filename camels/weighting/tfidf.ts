// TF-IDF baseline weights (spec §1.5), with scikit-learn's `TfidfVectorizer()` defaults reproduced:
//   preprocess: lowercase; tokens: regex (?u)\b\w\w+\b, i.e. maximal runs of >= 2 Unicode word
//   characters (letters, numbers, '_'; Python's \w has no combining marks); raw counts;
//   smooth idf = ln((1 + n) / (1 + df)) + 1; each document vector L2-normalised.
// Per sequence: rebuild the text from the token pieces, lowercase it, split it into words, compute that
// one document's tf-idf vector, give each word's characters its value (words located one after another
// with indexOf, as the reference does with str.find), and give each token the max over its characters.
// Weights <= threshold are zeroed, where threshold = numpy.quantile (linear) of all non-zero tf-idf
// values of the fit corpus at q = minThreshold, or 0 without minThreshold.
//
// The fit corpus is the caller's choice; the reference fits on the whole dataset, test documents
// included, by design (spec §9 item 26).
//
// Spec §9 item 3 (bug fix): the reference's run.py never passes `min_threshold` to TFIDF, so its
// threshold is always 0 and "TF-IDF + thresholding" is silently plain TF-IDF. Here `minThreshold` works.

import { padWeights, tokenWeightsFromCharScores } from './char-spans.js';

/** sklearn's default token_pattern (?u)\b\w\w+\b with Python's Unicode \w (counted in code points). */
const TOKEN = /[\p{L}\p{N}_]{2,}/gu;

/** sklearn's default analyzer on already-lowercased text: the words in order. */
export function analyze(lowercased: string): string[] {
  return lowercased.match(TOKEN) ?? [];
}

/**
 * Lower-case without changing the length, so character offsets still match the token pieces. Equal to
 * `toLowerCase()` (= Python's str.lower) except for the few characters whose lower-case form is longer
 * (e.g. 'İ' -> 'i̇'), which are kept as they are. The reference asserts the length is unchanged and would
 * crash on such text.
 */
export function lowercaseSameLength(text: string): string {
  const lower = text.toLowerCase();
  if (lower.length === text.length) return lower;
  let out = '';
  for (const ch of text) {
    const l = ch.toLowerCase();
    out += l.length === ch.length ? l : ch;
  }
  return out;
}

/** numpy.quantile(values, q) with the default 'linear' method (numpy >= 1.22 `_lerp` rounding). */
export function quantileLinear(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`quantile q must be in [0, 1], got ${q}`);
  const n = values.length;
  if (n === 0) throw new Error('quantile of an empty array');
  const sorted = Float64Array.from(values).sort();
  const virtual = (n - 1) * q;
  const lo = Math.floor(virtual);
  const hi = Math.min(lo + 1, n - 1);
  const gamma = virtual - lo;
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

/** A fitted sklearn-default TF-IDF vectorizer. */
export class TfidfVectorizer {
  /** Term -> column index; columns sorted by term (sklearn sorts the vocabulary). */
  readonly vocabulary: Map<string, number>;
  /** idf per column. */
  readonly idf: Float64Array;
  readonly documentCount: number;

  private constructor(vocabulary: Map<string, number>, idf: Float64Array, documentCount: number) {
    this.vocabulary = vocabulary;
    this.idf = idf;
    this.documentCount = documentCount;
  }

  /** `TfidfVectorizer().fit(corpus)` (no deduplication: pass unique documents if that is wanted). */
  static fit(corpus: readonly string[]): TfidfVectorizer {
    if (corpus.length === 0) throw new Error('TfidfVectorizer.fit: empty corpus');
    const df = new Map<string, number>();
    for (const doc of corpus) for (const term of new Set(analyze(doc.toLowerCase()))) df.set(term, (df.get(term) ?? 0) + 1);
    if (df.size === 0) throw new Error('TfidfVectorizer.fit: empty vocabulary; the documents contain no words of 2+ characters');
    // sklearn sorts feature names with Python's str ordering = code-point order.
    const terms = [...df.keys()].sort(compareCodePoints);
    const vocabulary = new Map(terms.map((t, i) => [t, i]));
    const n = corpus.length;
    const idf = Float64Array.from(terms, (t) => Math.log((n + 1) / (df.get(t)! + 1)) + 1);
    return new TfidfVectorizer(vocabulary, idf, n);
  }

  /**
   * The L2-normalised tf-idf vector of one document as (column, value) pairs sorted by column.
   * (The L2 norm sums squares in column order; scipy's may add in another order: last-bit differences.)
   */
  transformOne(doc: string, alreadyLowercased = false): { columns: Int32Array; values: Float64Array } {
    const counts = new Map<number, number>();
    for (const w of analyze(alreadyLowercased ? doc : doc.toLowerCase())) {
      const col = this.vocabulary.get(w);
      if (col !== undefined) counts.set(col, (counts.get(col) ?? 0) + 1);
    }
    const columns = Int32Array.from([...counts.keys()].sort((a, b) => a - b));
    const values = Float64Array.from(columns, (c) => counts.get(c)! * this.idf[c]!);
    // sklearn's csr row L2 normalisation: sum of squares in column order, sqrt, divide.
    let sumSq = 0;
    for (const v of values) sumSq += v * v;
    const norm = Math.sqrt(sumSq);
    if (norm > 0) for (let i = 0; i < values.length; i++) values[i] = values[i]! / norm;
    return { columns, values };
  }

  /** Term -> tf-idf value for one document (terms absent or out of vocabulary are not in the map). */
  termValues(doc: string, alreadyLowercased = false): Map<string, number> {
    const { columns, values } = this.transformOne(doc, alreadyLowercased);
    const names = this.featureNames();
    const out = new Map<string, number>();
    columns.forEach((c, i) => out.set(names[c]!, values[i]!));
    return out;
  }

  private names: string[] | undefined;
  /** `get_feature_names_out()`. */
  featureNames(): string[] {
    if (this.names === undefined) {
      this.names = new Array<string>(this.vocabulary.size);
      for (const [t, i] of this.vocabulary) this.names[i] = t;
    }
    return this.names;
  }
}

function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}

export interface TfidfWeighterOptions {
  /**
   * Quantile q in [0, 1] of the fit corpus's non-zero tf-idf values used as the threshold (the
   * reference's `min_threshold`, e.g. 0.05 for "TF-IDF + thresholding"); null/undefined = threshold 0.
   */
  minThreshold?: number | null;
}

/** TF-IDF token weighting: fit once on a corpus, then weight token sequences. */
export class TfidfWeighter {
  readonly vectorizer: TfidfVectorizer;
  /** Weights <= threshold are zeroed (0 when no minThreshold). */
  readonly threshold: number;

  /**
   * Fit on the corpus after removing duplicate documents, as the reference does (`unique()` of the
   * StreamingQA `text`, ArchivalQA `ans_paragraph`, SQuAD train+validation `context` columns).
   */
  constructor(corpus: readonly string[], options: TfidfWeighterOptions = {}) {
    const unique = [...new Set(corpus)];
    this.vectorizer = TfidfVectorizer.fit(unique);
    const q = options.minThreshold;
    if (q === undefined || q === null) {
      this.threshold = 0;
    } else {
      const nonZero: number[] = [];
      for (const doc of unique) for (const v of this.vectorizer.transformOne(doc).values) if (v !== 0) nonZero.push(v);
      this.threshold = quantileLinear(nonZero, q);
    }
  }

  /** Per-character tf-idf values of a text (0 outside known words); length = text.length. */
  charScores(text: string): Float64Array {
    const lower = lowercaseSameLength(text);
    const values = this.vectorizer.termValues(lower, true);
    const scores = new Float64Array(lower.length);
    let cursor = 0;
    for (const word of analyze(lower)) {
      const start = lower.indexOf(word, cursor);
      const end = start + word.length;
      const v = values.get(word);
      if (v !== undefined && v > 0) scores.fill(v, start, end);
      cursor = end;
    }
    return scores;
  }

  /** Thresholded float64 weights of the real tokens (one per piece, no padding). */
  tokenWeights(pieces: readonly string[]): Float64Array {
    const w = tokenWeightsFromCharScores(pieces, this.charScores(pieces.join('')));
    for (let i = 0; i < w.length; i++) if (!(w[i]! > this.threshold)) w[i] = 0;
    return w;
  }

  /** Weights padded with zeros to `paddedLength`, as float32. */
  weights(pieces: readonly string[], paddedLength: number): Float32Array {
    return padWeights(this.tokenWeights(pieces), paddedLength);
  }

  /** A batch, row-major [B, paddedLength]. */
  weightsBatch(batch: readonly (readonly string[])[], paddedLength: number): Float32Array {
    const out = new Float32Array(batch.length * paddedLength);
    batch.forEach((pieces, b) => out.set(this.weights(pieces, paddedLength), b * paddedLength));
    return out;
  }
}
