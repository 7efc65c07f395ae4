// The seeds of the embedded default: --seed S runs S alone, --seeds N runs 0..N−1, the default runs 3.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SEEDS, seedList } from '../../camels/tasks/default-experiment.js';

describe('default experiment seeds', () => {
  it('resolves --seed and --seeds', () => {
    expect(DEFAULT_SEEDS).toBeGreaterThanOrEqual(3);
    expect(seedList({})).toEqual([0, 1, 2]);
    expect(seedList({ quick: true })).toEqual([0]);
    expect(seedList({ seed: 7 })).toEqual([7]);
    expect(seedList({ seeds: 5 })).toEqual([0, 1, 2, 3, 4]);
    expect(() => seedList({ seed: 1, seeds: 2 })).toThrow(/not both/);
    expect(() => seedList({ seeds: 0 })).toThrow(/positive integer/);
    expect(() => seedList({ seed: -1 })).toThrow(/non-negative integer/);
    expect(() => seedList({ seed: Number('x') })).toThrow(/non-negative integer/);
  });
});
