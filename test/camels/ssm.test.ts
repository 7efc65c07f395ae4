// Salient span masking with compromise: names and dates get weight 1, plain numbers/money/percent 0,
// pads 0; a token's weight is the max over its characters.
import { describe, expect, it } from 'vitest';
import { salientSpans, ssmCharMask, ssmTokenWeights, ssmWeights, ssmWeightsBatch } from '../../camels/weighting/ssm.js';

const marked = (text: string): string[] => salientSpans(text).map((s) => s.text);

describe('SSM spans', () => {
  it('marks people, places, organisations and dates; not numbers, money, percentages', () => {
    const spans = marked('Barack Obama was born in Honolulu in 1961. He paid $5 million, 20% of 300 cars, to Microsoft.');
    expect(spans).toEqual(['Barack', 'Obama', 'Honolulu', '1961', 'Microsoft']);
  });
  it('marks invented names, including an unknown sentence-initial first name', () => {
    const spans = marked('Korvan Telisse founded the Amberlune Society in Vashtor in 1873.');
    expect(spans).toEqual(['Korvan', 'Telisse', 'Amberlune', 'Society', 'Vashtor', '1873']);
  });
  it('keeps date phrases but not their prepositions', () => {
    const s = salientSpans('They met on 12 May 2003 and again last Tuesday.');
    expect(s.filter((x) => x.kind === 'date').map((x) => x.text)).toEqual(['12', 'May', '2003', 'last', 'Tuesday']);
  });
  it('returns an all-zero mask for text without names', () => {
    expect(Array.from(ssmCharMask('the cat sat on 3 mats.')).every((v) => v === 0)).toBe(true);
    expect(ssmCharMask('').length).toBe(0);
  });
});

describe('SSM token weights', () => {
  const pieces = ['Bar', 'ack', ' Obama', ' was', ' born', ' in', ' Hon', 'olulu', ' in', ' 1961', ' and', ' paid', ' $', '5', ' million', '.'];
  it('gives 1 to every token overlapping a salient span (leading space included)', () => {
    expect(Array.from(ssmTokenWeights(pieces))).toEqual([1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
  });
  it('pads with zeros to the padded length as float32', () => {
    const w = ssmWeights(pieces, 20);
    expect(w).toBeInstanceOf(Float32Array);
    expect(w.length).toBe(20);
    expect(Array.from(w.slice(16))).toEqual([0, 0, 0, 0]);
    expect(() => ssmWeights(pieces, 10)).toThrow(/exceed the padded length/);
  });
  it('handles empty pieces, replacement characters and batches', () => {
    expect(Array.from(ssmTokenWeights(['', ' Paris', '\ufffd', '']))).toEqual([0, 1, 0, 0]);
    const batch = ssmWeightsBatch([pieces, [' Paris']], 18);
    expect(batch.length).toBe(36);
    expect(batch[18]).toBe(1);
    expect(batch[19]).toBe(0);
  });
});
