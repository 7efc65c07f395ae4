// Statistics of the default experiment: mean ± sd, quantiles, and the paired, seed-stratified bootstrap.
import { describe, expect, it } from 'vitest';
import { Prng } from '../../camels/data/rng.js';
import { mean, meanSd, pairedBootstrap, quantileSorted } from '../../camels/stats.js';

describe('stats', () => {
  it('mean and sample sd', () => {
    expect(meanSd([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, sd: Math.sqrt(32 / 7), n: 8 });
    expect(meanSd([3])).toEqual({ mean: 3, sd: 0, n: 1 });
    expect(Number.isNaN(meanSd([]).mean)).toBe(true);
    expect(mean([1, 2, 3, 6])).toBe(3);
  });

  it('quantiles interpolate like numpy', () => {
    const xs = [1, 2, 3, 4];
    expect(quantileSorted(xs, 0)).toBe(1);
    expect(quantileSorted(xs, 1)).toBe(4);
    expect(quantileSorted(xs, 0.5)).toBe(2.5);
    expect(quantileSorted(xs, 0.25)).toBeCloseTo(1.75, 12);
  });

  it('paired bootstrap: the mean difference, a deterministic interval that covers it, zero width for constant differences', () => {
    const rng = new Prng(7);
    const groups = [0, 1, 2].map(() => Array.from({ length: 30 }, () => { const b = rng.nextFloat(); return [b + 0.1 + 0.05 * (rng.nextFloat() - 0.5), b] as [number, number]; }));
    const r = pairedBootstrap(groups, { replicates: 4000, seed: 1 });
    expect(r.n).toBe(90);
    expect(r.diff).toBeCloseTo(0.1, 2);
    expect(r.ci95[0]).toBeLessThan(r.diff);
    expect(r.ci95[1]).toBeGreaterThan(r.diff);
    expect(r.ci95[0]).toBeGreaterThan(0.09); // the pairing removes the large shared variation of b
    expect(r.ci95[1]).toBeLessThan(0.11);
    expect(pairedBootstrap(groups, { replicates: 4000, seed: 1 })).toEqual(r);
    const c = pairedBootstrap([[[2, 1], [3, 2]], [[5, 4]]], { replicates: 200 });
    expect(c).toEqual({ diff: 1, ci95: [1, 1], n: 3 });
    expect(pairedBootstrap([[]]).n).toBe(0);
  });

  it('a difference of pure noise gets an interval around zero of the right width', () => {
    const rng = new Prng(3);
    const g = Array.from({ length: 400 }, () => [rng.nextFloat(), rng.nextFloat()] as [number, number]);
    const r = pairedBootstrap([g], { replicates: 4000, seed: 2 });
    // sd of a − b for two U(0,1) is 1/√6; the 95% half-width of the mean is about 1.96 · 0.408 / 20 = 0.040
    const half = (r.ci95[1] - r.ci95[0]) / 2;
    expect(half).toBeGreaterThan(0.03);
    expect(half).toBeLessThan(0.05);
    expect(r.ci95[0]).toBeLessThan(r.diff);
    expect(r.ci95[1]).toBeGreaterThan(r.diff);
  });
});
