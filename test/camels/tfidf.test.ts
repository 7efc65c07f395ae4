// TF-IDF with scikit-learn TfidfVectorizer defaults, hand-computed on a 3-document corpus, plus the
// per-token mapping through character spans and the (working) min_threshold.
import { describe, expect, it } from 'vitest';
import { tokenCharSpans, tokenWeightsFromCharScores, padWeights } from '../../camels/weighting/char-spans.js';
import { analyze, lowercaseSameLength, quantileLinear, TfidfVectorizer, TfidfWeighter } from '../../camels/weighting/tfidf.js';

const corpus = ['The cat sat', 'the dog sat down', 'A cat and a dog'];
// n = 3; df: the 2, cat 2, sat 2, dog 2, down 1, and 1.
const idf2 = Math.log(4 / 3) + 1; // 1.2876820724517808
const idf1 = Math.log(4 / 2) + 1; // 1.6931471805599454

describe('sklearn analyzer', () => {
  it('keeps runs of 2+ Unicode word characters', () => {
    expect(analyze('naïve café x 42 a1 _b 7 ü')).toEqual(['naïve', 'café', '42', 'a1', '_b']);
    // Python's \w has no combining marks: 'e' + U+0301 ends the word.
    expect(analyze('cafe\u0301 ok')).toEqual(['cafe', 'ok']);
    expect(analyze("don't x-ray")).toEqual(['don', 'ray']);
    expect(analyze('日本語 テスト')).toEqual(['日本語', 'テスト']);
  });
  it('lowercases without changing the length', () => {
    expect(lowercaseSameLength('ABC Dé')).toBe('abc dé');
    const s = 'İstanbul';
    expect(lowercaseSameLength(s).length).toBe(s.length);
  });
});

describe('TfidfVectorizer', () => {
  const vec = TfidfVectorizer.fit(corpus);
  it('has the sorted vocabulary and smooth idf', () => {
    expect(vec.featureNames()).toEqual(['and', 'cat', 'dog', 'down', 'sat', 'the']);
    expect(Array.from(vec.idf)).toEqual([idf1, idf2, idf2, idf1, idf2, idf2]);
    expect(idf2).toBeCloseTo(1.2876820724517808, 15);
  });
  it('L2-normalises raw counts times idf', () => {
    const d1 = vec.termValues(corpus[0]!);
    expect([...d1.keys()].sort()).toEqual(['cat', 'sat', 'the']);
    for (const v of d1.values()) expect(v).toBeCloseTo(0.5773502691896257, 15);
    const d2 = vec.termValues(corpus[1]!);
    expect(d2.get('dog')).toBeCloseTo(0.4598535287588349, 15);
    expect(d2.get('down')).toBeCloseTo(0.6046521283053111, 15);
    const q = vec.termValues('CAT cat down unknownword');
    const norm = Math.hypot(2 * idf2, idf1);
    expect(q.get('cat')).toBeCloseTo((2 * idf2) / norm, 15); // 0.8355915419449176
    expect(q.get('down')).toBeCloseTo(idf1 / norm, 15); // 0.5493512310263033
    expect(q.has('unknownword')).toBe(false);
    expect(vec.termValues('zz qq').size).toBe(0);
  });
});

describe('numpy linear quantile', () => {
  it('matches numpy.quantile', () => {
    expect(quantileLinear([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileLinear([4, 1, 3, 2], 0.25)).toBe(1.75);
    expect(quantileLinear([1, 2, 3, 4], 0)).toBe(1);
    expect(quantileLinear([1, 2, 3, 4], 1)).toBe(4);
    expect(quantileLinear([7], 0.3)).toBe(7);
    expect(() => quantileLinear([], 0.5)).toThrow(/empty/);
    expect(() => quantileLinear([1], 1.5)).toThrow(/\[0, 1\]/);
  });
});

describe('TfidfWeighter', () => {
  it('maps word values to tokens via character spans (max over characters)', () => {
    const w = new TfidfWeighter(corpus);
    expect(w.threshold).toBe(0);
    // " d" + "own" split one word; "." is not a word; the empty piece gets 0.
    const pieces = ['The', ' cat', ' d', 'own', '', '.'];
    const weights = w.tokenWeights(pieces);
    const v = w.vectorizer.termValues('the cat down');
    expect(weights[0]).toBeCloseTo(v.get('the')!, 15);
    expect(weights[1]).toBeCloseTo(v.get('cat')!, 15);
    expect(weights[2]).toBeCloseTo(v.get('down')!, 15);
    expect(weights[3]).toBeCloseTo(v.get('down')!, 15);
    expect(weights[4]).toBe(0);
    expect(weights[5]).toBe(0);
    // A word out of the vocabulary ("cats") scores 0 even though it contains "cat".
    expect(Array.from(w.tokenWeights([' ca', 'ts']))).toEqual([0, 0]);
    const padded = w.weights(pieces, 8);
    expect(padded).toBeInstanceOf(Float32Array);
    expect(padded.length).toBe(8);
    expect(padded[6]).toBe(0);
    expect(padded[1]).toBeCloseTo(v.get('cat')!, 6);
    const batch = w.weightsBatch([pieces, ['dog']], 8);
    expect(batch.length).toBe(16);
    expect(batch[8]).toBe(1); // a one-word document: its only term has norm-1 value
  });
  it('deduplicates the fit corpus like the reference', () => {
    const a = new TfidfWeighter([...corpus, corpus[0]!]);
    expect(Array.from(a.vectorizer.idf)).toEqual(Array.from(new TfidfWeighter(corpus).vectorizer.idf));
  });
  it('applies min_threshold as a quantile of the non-zero fit tf-idf values (spec §9 item 3)', () => {
    // The 10 non-zero values of the fit corpus, sorted:
    const values = [0.4598535287588349, 0.4598535287588349, 0.4598535287588349, 0.5178561161676974, 0.5178561161676974,
      0.5773502691896257, 0.5773502691896257, 0.5773502691896257, 0.6046521283053111, 0.680918560398684];
    const w = new TfidfWeighter(corpus, { minThreshold: 0.5 });
    // virtual index 4.5: halfway between 0.51785... and 0.57735...
    expect(w.threshold).toBeCloseTo(0.5476031926786615, 15);
    expect(w.threshold).toBeCloseTo(quantileLinear(values, 0.5), 15);
    // In "the dog sat down", dog/sat/the (0.4598) are <= threshold and zeroed; down (0.6047) is kept.
    const weights = w.tokenWeights(['the', ' dog', ' sat', ' down']);
    expect(Array.from(weights.slice(0, 3))).toEqual([0, 0, 0]);
    expect(weights[3]).toBeCloseTo(0.6046521283053111, 15);
    // q = 0 keeps everything above the smallest value; the smallest itself is zeroed (strict >).
    const w0 = new TfidfWeighter(corpus, { minThreshold: 0 });
    expect(w0.threshold).toBeCloseTo(values[0]!, 15);
    expect(w0.tokenWeights(['the', ' dog', ' sat', ' down'])[0]).toBe(0);
    expect(new TfidfWeighter(corpus, { minThreshold: null }).threshold).toBe(0);
  });
  it('rejects an empty or wordless corpus', () => {
    expect(() => new TfidfWeighter([])).toThrow(/empty corpus/);
    expect(() => new TfidfWeighter(['a b', '!'])).toThrow(/empty vocabulary/);
  });
});

describe('char spans', () => {
  it('computes spans and max-over-characters weights', () => {
    expect(tokenCharSpans(['ab', '', ' c'])).toEqual([{ start: 0, end: 2 }, { start: 2, end: 2 }, { start: 2, end: 4 }]);
    expect(Array.from(tokenWeightsFromCharScores(['ab', '', ' c'], [0.1, 0.5, 0, 0.3]))).toEqual([0.5, 0, 0.3]);
    expect(() => tokenWeightsFromCharScores(['ab'], [1])).toThrow(/1 character scores for a text of 2/);
    expect(Array.from(padWeights([1, 0.5], 4))).toEqual([1, 0.5, 0, 0]);
    expect(() => padWeights([1, 1, 1], 2)).toThrow(/exceed the padded length/);
  });
});
