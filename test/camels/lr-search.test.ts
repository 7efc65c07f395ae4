// Learning-rate search of the default: extends the grid until the best point is interior.
import { describe, expect, it } from 'vitest';
import { searchLearningRate, type LrPoint } from '../../camels/tasks/default/lr-search.js';

/** A validation curve with its minimum at lr = best (quadratic in log10 lr). */
const bowl = (best: number) => async (lr: number): Promise<LrPoint> => ({ lr, nll: (Math.log10(lr) - Math.log10(best)) ** 2, f1: 0 });

describe('learning-rate search', () => {
  const opts = { grid: [1e-3, 3.16e-3, 1e-2], factor: Math.sqrt(10), maxExtensions: 4 };

  it('keeps an interior choice without extending', async () => {
    const r = await searchLearningRate(bowl(3e-3), opts);
    expect(r.best).toBe(3.16e-3);
    expect(r.interior).toBe(true);
    expect(r.points.map((p) => p.lr)).toEqual([1e-3, 3.16e-3, 1e-2]);
  });

  it('extends upwards and downwards on the lattice until the best is interior', async () => {
    const up = await searchLearningRate(bowl(0.05), opts);
    expect(up.points.map((p) => p.lr)).toEqual([1e-3, 3.16e-3, 1e-2, 0.0316, 0.1]);
    expect(up.best).toBe(0.0316);
    expect(up.interior).toBe(true);
    const down = await searchLearningRate(bowl(2e-4), opts);
    expect(down.points.map((p) => p.lr)).toEqual([1e-4, 3.16e-4, 1e-3, 3.16e-3, 1e-2]);
    expect(down.best).toBe(3.16e-4);
    expect(down.interior).toBe(true);
  });

  it('says so when the extension budget runs out, and never chooses a diverged (NaN) point', async () => {
    const r = await searchLearningRate(bowl(10), { ...opts, maxExtensions: 2 });
    expect(r.best).toBe(0.1);
    expect(r.interior).toBe(false);
    const nan = await searchLearningRate(async (lr) => ({ lr, nll: lr > 5e-3 ? NaN : -lr, f1: 0 }), opts);
    expect(nan.best).toBe(3.16e-3);
    expect(nan.interior).toBe(true);
  });

  it('rejects a bad grid or factor', async () => {
    await expect(searchLearningRate(bowl(1), { ...opts, grid: [] })).rejects.toThrow(/empty grid/);
    await expect(searchLearningRate(bowl(1), { ...opts, factor: 1 })).rejects.toThrow(/factor/);
  });
});
