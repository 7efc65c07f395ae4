// loadPretrained / savePretrained: an exact round trip, HF key layouts (with and without the
// `transformer.` prefix), and errors that list missing, unexpected and mis-shaped keys.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { disposeModel, loadPretrained, savePretrained } from '../../models/pretrained.js';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../models/safetensors.js';
import { GOLDEN, MODELS } from './golden.js';

const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p));

function copyWithTensors(src: string, edit: (t: Record<string, TensorToWrite>) => void): string {
  const dir = tmp('camels-ckpt-');
  fs.copyFileSync(path.join(src, 'config.json'), path.join(dir, 'config.json'));
  const f = openSafetensors(path.join(src, 'model.safetensors'));
  const tensors: Record<string, TensorToWrite> = {};
  for (const k of f.keys()) tensors[k] = { dtype: 'float32', shape: f.info(k).shape, data: f.readAsFloat32(k) };
  f.close();
  edit(tensors);
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  return dir;
}

describe('pretrained checkpoints', () => {
  for (const m of MODELS) {
    it(`${m}: save then load is exact and keeps the config`, async () => {
      const a = loadPretrained(path.join(GOLDEN, m), { device: 'cpu' });
      const dir = tmp('camels-save-');
      await savePretrained(a, dir);
      const b = loadPretrained(dir, { device: 'cpu' });
      expect(Object.keys(b.params).sort()).toEqual(Object.keys(a.params).sort());
      for (const k of Object.keys(a.params)) expect(await b.params[k]!.data()).toEqual(await a.params[k]!.data());
      expect(b.config).toEqual(a.config);
      const rawA = JSON.parse(fs.readFileSync(path.join(GOLDEN, m, 'config.json'), 'utf8'));
      const rawB = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      for (const key of ['model_type', 'vocab_size', 'architectures', 'tie_word_embeddings']) expect(rawB[key]).toEqual(rawA[key]);
      // the saved file has exactly the HF keys of the original
      const fa = openSafetensors(path.join(GOLDEN, m, 'model.safetensors'));
      const fb = openSafetensors(path.join(dir, 'model.safetensors'));
      expect(fb.keys().sort()).toEqual(fa.keys().sort());
      fa.close();
      fb.close();
      disposeModel(a);
      disposeModel(b);
    });
  }

  it('accepts GPT2Model-style keys without the transformer. prefix and old attention-mask buffers', () => {
    const dir = copyWithTensors(path.join(GOLDEN, 'tiny-gpt2'), (t) => {
      for (const k of Object.keys(t)) {
        t[k.replace(/^transformer\./, '')] = t[k]!;
        delete t[k];
      }
      t['h.0.attn.bias'] = { dtype: 'float32', shape: [1, 1, 4, 4], data: new Float32Array(16) };
    });
    const m = loadPretrained(dir, { device: 'cpu' });
    expect(Object.keys(m.params)).toContain('transformer.h.0.attn.c_attn.weight');
    disposeModel(m);
  });

  it('lists missing, unexpected and mis-shaped keys', () => {
    const dir = copyWithTensors(path.join(GOLDEN, 'tiny-gpt2'), (t) => {
      delete t['transformer.h.1.mlp.c_fc.bias'];
      t['transformer.h.7.extra.weight'] = { dtype: 'float32', shape: [2], data: new Float32Array(2) };
      t['transformer.ln_f.weight'] = { dtype: 'float32', shape: [31], data: new Float32Array(31) };
    });
    let msg = '';
    try {
      loadPretrained(dir, { device: 'cpu' });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('missing keys (1): transformer.h.1.mlp.c_fc.bias');
    expect(msg).toContain('unexpected keys (1): transformer.h.7.extra.weight');
    expect(msg).toContain('transformer.ln_f.weight: file [31], config expects [32]');
    expect(msg).toContain(dir);
  });

  it('rejects a directory without config.json or weights', () => {
    expect(() => loadPretrained('/nonexistent-dir', { device: 'cpu' })).toThrow(/not a directory/);
    const empty = tmp('camels-empty-');
    expect(() => loadPretrained(empty, { device: 'cpu' })).toThrow(/config\.json/);
  });
});
