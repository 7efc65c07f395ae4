// The weight model's `normalize` option (reference spec 1.2 step 7): each row's weights rescaled to
// mean 1 over its real tokens, differentiably; recorded with the checkpoint and honoured at load.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { padBatch, batchToDevice } from '../../camels/batch.js';
import { loadWeightModel, newWeightModel, NORMALIZE_KEY, saveWeightModel, tokenWeights } from '../../camels/weight-model.js';
import { disposeModel } from '../../models/pretrained.js';
import { E, tempDir, tinyModel } from './helpers.js';

function setup(normalize: boolean, dtype: 'float32' | 'float64' = 'float64') {
  const m = tinyModel(4, dtype);
  const body = Object.fromEntries(Object.entries(m.params).filter(([k]) => k.startsWith('transformer.')));
  const wm = newWeightModel(m.config, m.rawConfig, body, 8, 1, { normalize });
  // a non-zero head, so the weights differ between tokens
  for (const k of ['fc2.weight', 'fc2.bias']) {
    const t = wm.params[k]!;
    wm.params[k] = E.keep(E.tensor(Array.from({ length: t.size }, (_, i) => 0.7 - 0.3 * i), t.shape, { dtype, requiresGrad: true }));
    t.dispose();
  }
  const b = batchToDevice(padBatch([[5, 9, 11, 40, 7], [3, 8, 2]], 6, 0), dtype, 'cpu');
  return { m, wm, b };
}

describe('weight model normalize', () => {
  it('rescales each row to mean 1 over real tokens, pads stay 0, and equals the plain weights rescaled', async () => {
    const plain = setup(false);
    const norm = setup(true);
    const w0 = Array.from(await tokenWeights(plain.wm, plain.wm.params, plain.b.ids, plain.b.mask).data());
    const w1 = Array.from(await tokenWeights(norm.wm, norm.wm.params, norm.b.ids, norm.b.mask).data());
    const lens = [5, 3];
    for (let r = 0; r < 2; r++) {
      const row0 = w0.slice(r * 6, r * 6 + 6);
      const row1 = w1.slice(r * 6, r * 6 + 6);
      const s0 = row0.reduce((a, v) => a + v, 0);
      expect(row1.slice(0, lens[r]).reduce((a, v) => a + v, 0)).toBeCloseTo(lens[r]!, 12);
      expect(row1.slice(lens[r])).toEqual(new Array(6 - lens[r]!).fill(0));
      for (let t = 0; t < lens[r]!; t++) expect(row1[t]).toBeCloseTo((row0[t]! * lens[r]!) / s0, 12);
      expect(new Set(row1.slice(0, lens[r]).map((v) => v.toFixed(6))).size).toBeGreaterThan(1);
    }
    disposeModel(plain.m);
    disposeModel(norm.m);
  });

  it('is differentiable: the gradient of Σ w·c matches a central difference', async () => {
    const { m, wm, b } = setup(true);
    const c = E.tensor(Array.from({ length: 12 }, (_, i) => Math.sin(i)), [2, 6], { dtype: 'float64' });
    const f = () => E.sum(E.mul(tokenWeights(wm, wm.params, b.ids, b.mask), c));
    const p = wm.params['fc1.weight']!;
    const [g] = E.grad(f(), [p]);
    const gd = await g!.data();
    const base = Float64Array.from(await p.data());
    const eps = 1e-6;
    for (const i of [0, 7, 33]) {
      const at = async (d: number) => {
        const v = Float64Array.from(base);
        v[i] = v[i]! + d;
        wm.params['fc1.weight'] = E.keep(E.tensor(v, p.shape, { dtype: 'float64', requiresGrad: true }));
        const y = await E.noGrad(f).item();
        wm.params['fc1.weight']!.dispose();
        return y;
      };
      expect(gd[i]).toBeCloseTo(((await at(eps)) - (await at(-eps))) / (2 * eps), 6);
    }
    wm.params['fc1.weight'] = p;
    disposeModel(m);
  });

  it('is recorded with the checkpoint; a recorded false refuses normalize=true; an unrecorded one takes the config', async () => {
    const dir = tempDir('camels-wnorm-');
    for (const normalize of [true, false]) {
      const { m, wm } = setup(normalize, 'float32');
      const file = path.join(dir, `wm-${normalize}.safetensors`);
      await saveWeightModel(wm, file);
      const sidecar = file.replace(/\.safetensors$/, '.config.json');
      expect(JSON.parse(fs.readFileSync(sidecar, 'utf8'))[NORMALIZE_KEY]).toBe(normalize);
      const back = loadWeightModel(file, sidecar, { device: 'cpu' });
      expect(back.normalize).toBe(normalize);
      expect(back.bodyRawConfig[NORMALIZE_KEY]).toBeUndefined();
      if (!normalize) expect(() => loadWeightModel(file, sidecar, { device: 'cpu', normalize: true })).toThrow(/meta-trained without normalize/);
      // a body config that records nothing (run.py's .pt checkpoints): the config's value applies
      const bare = path.join(dir, `bare-${normalize}.json`);
      fs.writeFileSync(bare, JSON.stringify(m.rawConfig));
      expect(loadWeightModel(file, bare, { device: 'cpu', normalize: true }).normalize).toBe(true);
      expect(loadWeightModel(file, bare, { device: 'cpu' }).normalize).toBe(false);
      disposeModel(m);
    }
  });
});
