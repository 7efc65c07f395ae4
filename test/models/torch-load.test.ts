// The reference's checkpoints loaded the way its users pass them: train_qa.py's best_nll.pt as
// base_model_state_dict (attn.bias / attn.masked_bias buffers dropped, the tied lm_head copy
// handled; zip, legacy and float16), a model directory holding pytorch_model.bin, and run.py's
// weight-model checkpoint {'state_dict': …} as weight_model_path, with its body config from
// pretrained_model.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadWeightModel, weightModelBodyConfig } from '../../camels/weight-model.js';
import { resolveBaseModel } from '../../models/model-source.js';
import { disposeModel, loadPretrained, type CausalLM } from '../../models/pretrained.js';
import { f16ToF32, f32ToF16 } from '../../models/safetensors.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PT = path.join(HERE, '..', 'fixtures', 'torch-pt');
const TINY = path.join(HERE, '..', 'fixtures', 'golden', 'tiny-gpt2');

async function paramsOf(m: CausalLM): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(m.params)) out[k] = Array.from(await t.data());
  return out;
}

describe('base_model_state_dict = a torch.save file', () => {
  for (const f of ['tiny-gpt2.state_dict.pt', 'tiny-gpt2.state_dict.legacy.pt']) {
    it(`${f} loads into base_model's architecture with the fixture's exact weights`, async () => {
      const src = await resolveBaseModel(TINY, path.join(PT, f));
      expect(src).toEqual({ dir: TINY, weights: path.join(PT, f) });
      const a = loadPretrained(TINY, { device: 'cpu', trainable: false });
      const b = loadPretrained(src.dir, { device: 'cpu', trainable: false, weights: src.weights });
      expect(await paramsOf(b)).toEqual(await paramsOf(a));
      disposeModel(a);
      disposeModel(b);
    });
  }

  it('the float16 file loads as float32 values of the float16 weights', async () => {
    const a = loadPretrained(TINY, { device: 'cpu', trainable: false });
    const b = loadPretrained(TINY, { device: 'cpu', trainable: false, weights: path.join(PT, 'tiny-gpt2.state_dict.f16.pt') });
    for (const [k, t] of Object.entries(a.params)) {
      const want = f16ToF32(f32ToF16((await t.data()) as Float32Array));
      expect(Array.from(await b.params[k]!.data()), k).toEqual(Array.from(want));
    }
    disposeModel(a);
    disposeModel(b);
  });

  it('a model directory with pytorch_model.bin loads like its safetensors twin', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camels-bin-'));
    fs.copyFileSync(path.join(TINY, 'config.json'), path.join(dir, 'config.json'));
    fs.copyFileSync(path.join(PT, 'tiny-gpt2.state_dict.pt'), path.join(dir, 'pytorch_model.bin'));
    const a = loadPretrained(TINY, { device: 'cpu', trainable: false });
    const b = loadPretrained(dir, { device: 'cpu', trainable: false });
    expect(await paramsOf(b)).toEqual(await paramsOf(a));
    disposeModel(a);
    disposeModel(b);
  });

  it('clear errors: a state dict without base_model, a missing file, a state dict of another shape', async () => {
    await expect(resolveBaseModel(null, path.join(PT, 'tiny-gpt2.state_dict.pt'))).rejects.toThrow(/set base_model/);
    await expect(resolveBaseModel(TINY, '/nonexistent/best_nll.pt')).rejects.toThrow(/base_model_state_dict '\/nonexistent\/best_nll\.pt' not found/);
    expect(() => loadPretrained(TINY, { device: 'cpu', weights: path.join(PT, 'weight_model.ckpt.pt') })).toThrow(/weight_model\.ckpt\.pt.*missing keys/s);
    expect(() => loadPretrained(TINY, { device: 'cpu', weights: path.join(PT, 'tiny-gpt2.state_dict.strided.pt') })).toThrow(/unexpected keys \(1\): extra\.strided/);
    expect(() => loadPretrained(TINY, { device: 'cpu', weights: path.join(PT, 'malicious.pt') })).toThrow(/refusing global 'posix\.system'/);
  });
});

describe('weight_model_path = run.py\'s {\'state_dict\': …} checkpoint', () => {
  it('loads to the same parameters as the safetensors weight model, body config from pretrained_model', async () => {
    const pt = path.join(PT, 'weight_model.ckpt.pt');
    const cfg = await weightModelBodyConfig(pt, TINY);
    expect(cfg).toBe(path.join(TINY, 'config.json'));
    const a = loadWeightModel(path.join(TINY, 'weight_model.safetensors'), path.join(TINY, 'weight_model_config.json'), { device: 'cpu' });
    const b = loadWeightModel(pt, cfg, { device: 'cpu' });
    expect(Object.keys(b.params).sort()).toEqual(Object.keys(a.params).sort());
    for (const [k, t] of Object.entries(a.params)) expect(Array.from(await b.params[k]!.data()), k).toEqual(Array.from(await t.data()));
  });

  it('prefers the .config.json this project writes next to a checkpoint', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camels-wm-'));
    const pt = path.join(dir, 'best.pt');
    fs.copyFileSync(path.join(PT, 'weight_model.ckpt.pt'), pt);
    fs.copyFileSync(path.join(TINY, 'weight_model_config.json'), path.join(dir, 'best.config.json'));
    expect(await weightModelBodyConfig(pt, null)).toBe(path.join(dir, 'best.config.json'));
  });
});
