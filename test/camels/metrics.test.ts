// SQuAD normalisation, F1, standard EM, the reference's prefix EM, aggregation and the final_em.csv text.
import { describe, expect, it } from 'vitest';
import {
  exactMatch,
  f1Score,
  formatEvalCsv,
  maxOverReferences,
  meanStd,
  normalizeAnswer,
  numpySum,
  pyFloatRepr,
  pyStrRepr,
  referenceExactMatch,
  scoreQuestion,
  summarizeScores,
} from '../../camels/metrics.js';

describe('normalizeAnswer', () => {
  it('lowercases, drops punctuation, articles and extra whitespace', () => {
    expect(normalizeAnswer('The  Cat!')).toBe('cat');
    expect(normalizeAnswer('  An apple, a day; keeps THE doctor away. ')).toBe('apple day keeps doctor away');
    expect(normalizeAnswer('theater')).toBe('theater'); // articles only as whole words
    expect(normalizeAnswer('the-end')).toBe('theend'); // punctuation goes first, so no article is left
    expect(normalizeAnswer('Über the café')).toBe('über café');
    expect(normalizeAnswer('a')).toBe('');
    expect(normalizeAnswer('tab\there\u3000wide')).toBe('tab here wide');
  });
  it('keeps non-ASCII punctuation, as Python string.punctuation is ASCII only', () => {
    expect(normalizeAnswer('“quoted”—dash')).toBe('“quoted”—dash');
  });
});

describe('f1Score', () => {
  it('matches hand-computed values', () => {
    // pred [cat, sat], gold [cat, sat, down]: P = 1, R = 2/3, F1 = 0.8
    expect(f1Score('the cat sat', 'cat sat down')).toBeCloseTo(0.8, 15);
    // 'a' is an article: [b, c, d] vs [c, d, e]: P = R = 2/3
    expect(f1Score('a b c d', 'c d e')).toBeCloseTo(2 / 3, 15);
    // duplicates count once per gold occurrence: P = 1/2, R = 1, F1 = 2/3
    expect(f1Score('paris paris', 'Paris')).toBeCloseTo(2 / 3, 15);
    expect(f1Score('Paris', 'paris.')).toBe(1);
  });
  it('is 0 without overlap, also for two empty answers', () => {
    expect(f1Score('london', 'paris')).toBe(0);
    expect(f1Score('', '')).toBe(0);
    expect(f1Score('the', 'a')).toBe(0);
  });
});

describe('exact match', () => {
  it('standard EM compares whole normalised strings', () => {
    expect(exactMatch('The Paris', 'paris')).toBe(1);
    expect(exactMatch('Paris, France', 'paris')).toBe(0);
  });
  it('reference EM is a prefix match on the normalised strings', () => {
    expect(referenceExactMatch('Paris, France', 'paris')).toBe(1);
    expect(referenceExactMatch('19901', '1990')).toBe(1);
    expect(referenceExactMatch('Par', 'Paris')).toBe(0);
    expect(referenceExactMatch('', 'x')).toBe(0);
    // An empty normalised gold matches anything (prefix of length 0), as in the reference.
    expect(referenceExactMatch('anything', 'the')).toBe(1);
    expect(referenceExactMatch('Paris, France', 'paris', true)).toBe(0);
  });
  it('max over references', () => {
    expect(maxOverReferences(f1Score, 'big red dog', ['cat', 'red dog'])).toBeCloseTo(0.8, 15);
    expect(() => maxOverReferences(f1Score, 'x', [])).toThrow(/no reference/);
  });
});

describe('aggregation and CSV', () => {
  const q1 = scoreQuestion('Where?', 'Paris', ['Paris France', 'Lyon']);
  const q2 = scoreQuestion('When, exactly?', '1991', ['1990', 'the year "1990"']);
  it('scores each question like qa_eval', () => {
    expect(q1.em).toBe(1);
    expect(q1.f1s).toEqual([2 / 3, 0]);
    expect(q2.em).toBe(0);
    expect(scoreQuestion('Where?', 'Paris', ['Paris France'], 'standard').em).toBe(0);
  });
  it('summarises with numpy mean and population std', () => {
    const s = summarizeScores([q1, q2]);
    expect(s.count).toBe(2);
    expect(s.emCorrect).toBe(1);
    expect(s.em).toBe(0.5);
    expect(s.avgF1.mean).toBeCloseTo(1 / 6, 15);
    expect(s.avgF1.std).toBeCloseTo(1 / 6, 15);
    expect(s.maxF1.mean).toBeCloseTo(1 / 3, 15);
    expect(s.maxF1.std).toBeCloseTo(1 / 3, 15);
    expect(meanStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(1.25) });
  });
  it('numpySum uses pairwise summation', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => 0.1 * (i % 7) + 1e-3 * i);
    const naive = xs.reduce((a, b) => a + b, 0);
    expect(numpySum(xs)).toBeCloseTo(naive, 9);
    expect(numpySum([])).toBe(0);
    expect(numpySum([1.5])).toBe(1.5);
  });
  it('writes the reference final_em.csv text', () => {
    expect(formatEvalCsv([q1, q2])).toBe(
      'Where?,Paris,"[\'Paris France\', \'Lyon\']","[0.6666666666666666, 0]",1\r\n' +
        '"When, exactly?",1991,"[\'1990\', \'the year ""1990""\']","[0, 0]",0\r\n' +
        'EM,1,0.5\r\n' +
        'avg_f1,0.16666666666666666,0.16666666666666666\r\n' +
        'max_f1,0.3333333333333333,0.3333333333333333\r\n',
    );
  });
  it('reproduces Python float and str repr', () => {
    const cases: [number, string][] = [
      [1, '1.0'], [0.1, '0.1'], [1e-5, '1e-05'], [1.5e-7, '1.5e-07'], [1e16, '1e+16'], [1e15, '1000000000000000.0'],
      [123456789012345680, '1.2345678901234568e+17'], [0.0001, '0.0001'], [2 / 3, '0.6666666666666666'], [100, '100.0'],
      [-2.5, '-2.5'], [0, '0.0'], [NaN, 'nan'],
    ];
    for (const [x, s] of cases) expect(pyFloatRepr(x)).toBe(s);
    expect(pyStrRepr("it's")).toBe('"it\'s"');
    expect(pyStrRepr('a"b')).toBe('\'a"b\'');
    expect(pyStrRepr('it\'s "x"')).toBe('\'it\\\'s "x"\'');
    expect(pyStrRepr('a\nb\\')).toBe("'a\\nb\\\\'");
    expect(pyStrRepr('\u00a0é\u200b')).toBe("'\\xa0é\\u200b'");
  });
});
