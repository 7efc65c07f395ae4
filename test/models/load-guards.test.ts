// models/ and weight models: non-finite weights refused at load (naming tensor and count), filesystem errors of
// model saving (savePretrained, writeSafetensors) that name cause and path, and config.json that is
// not UTF-8.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readHfConfigFile } from '../../models/hf-config.js';
import { countNonFinite, disposeModel, loadPretrained, savePretrained } from '../../models/pretrained.js';
import { writeSafetensors } from '../../models/safetensors.js';

const TINY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'golden', 'tiny-gpt2');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'camels-guards-'));

describe('non-finite weights', () => {
  it('countNonFinite counts NaN and ±Inf only', () => {
    expect(countNonFinite(Float32Array.from([0, -0, 1e38, -3.4e38, 1e-45]))).toBe(0);
    expect(countNonFinite(Float64Array.from([NaN, Infinity, -Infinity, 1, Number.MAX_VALUE]))).toBe(3);
  });

  it('loadPretrained refuses them, naming each tensor and its count', async () => {
    const dir = tmp();
    fs.copyFileSync(path.join(TINY, 'config.json'), path.join(dir, 'config.json'));
    const m = loadPretrained(TINY, { device: 'cpu', trainable: false });
    const tensors: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
    for (const [k, t] of Object.entries(m.params)) tensors[k] = { dtype: 'float32', shape: [...t.shape], data: Float32Array.from(await t.data()) };
    disposeModel(m);
    tensors['transformer.wpe.weight']!.data[3] = NaN;
    tensors['transformer.h.1.ln_2.bias']!.data.fill(-Infinity);
    writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    const n = (k: string) => tensors[k]!.data.length;
    expect(() => loadPretrained(dir, { device: 'cpu' })).toThrow(
      `loadPretrained ${dir}: non-finite weights (NaN or Inf) in 2 tensor(s): transformer.wpe.weight: 1 of ${n('transformer.wpe.weight')}; transformer.h.1.ln_2.bias: ${n('transformer.h.1.ln_2.bias')} of ${n('transformer.h.1.ln_2.bias')}`,
    );
  });
});

describe('saving a model where it cannot be written', () => {
  it('savePretrained below a file: ENOTDIR naming the file', async () => {
    const file = path.join(tmp(), 'f');
    fs.writeFileSync(file, 'x');
    const m = loadPretrained(TINY, { device: 'cpu', trainable: false });
    try {
      await expect(savePretrained(m, path.join(file, 'out'))).rejects.toThrow(`cannot create the model directory ${path.join(file, 'out')}: ${file} is a file, not a directory (ENOTDIR)`);
    } finally {
      disposeModel(m);
    }
  });

  it('writeSafetensors: the cause, not just the errno message', () => {
    const file = path.join(tmp(), 'f');
    fs.writeFileSync(file, 'x');
    const target = path.join(file, 'model.safetensors');
    expect(() => writeSafetensors(target, { a: { dtype: 'float32', shape: [1], data: Float32Array.from([1]) } })).toThrow(
      new RegExp(`^safetensors '${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': write failed: cannot write .*: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is a file, not a directory \\(ENOTDIR\\)$`),
    );
  });
});

describe('config.json that is not UTF-8', () => {
  it('is an HfConfigError naming the line and byte offset', () => {
    const dir = tmp();
    const text = fs.readFileSync(path.join(TINY, 'config.json'));
    const at = text.indexOf(0x0a) + 1; // start of line 2
    fs.writeFileSync(path.join(dir, 'config.json'), Buffer.concat([text.subarray(0, at), Buffer.from([0xfe]), text.subarray(at)]));
    expect(() => readHfConfigFile(dir)).toThrow(`config '${path.join(dir, 'config.json')}': not valid UTF-8: line 2, byte offset ${at} (byte 0xfe)`);
  });
});

describe('weight models with non-finite weights', () => {
  /** Copy of the fixture weight model with `tensor`'s float32 entry `i` set to NaN. */
  function poisoned(tensor: string, i: number): { file: string; config: string } {
    const dir = tmp();
    const file = path.join(dir, 'weight_model.safetensors');
    const config = path.join(dir, 'weight_model_config.json');
    fs.copyFileSync(path.join(TINY, 'weight_model_config.json'), config);
    const buf = fs.readFileSync(path.join(TINY, 'weight_model.safetensors'));
    const n = Number(buf.readBigUInt64LE(0));
    const info = (JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>)[tensor]!;
    expect(info.dtype).toBe('F32');
    buf.writeFloatLE(NaN, 8 + n + info.data_offsets[0] + 4 * i);
    fs.writeFileSync(file, buf);
    return { file, config };
  }

  it('loadWeightModel refuses a NaN in the head or the body, naming the tensor', async () => {
    const { loadWeightModel } = await import('../../camels/weight-model.js');
    const head = poisoned('fc1.weight', 5);
    expect(() => loadWeightModel(head.file, head.config, { device: 'cpu' })).toThrow(/^weight model '.*': non-finite weights \(NaN or Inf\) in fc1\.weight: 1 of \d+$/);
    const body = poisoned('gpt_base.h.0.ln_1.weight', 0);
    expect(() => loadWeightModel(body.file, body.config, { device: 'cpu' })).toThrow(`loadPretrained ${body.file}: non-finite weights (NaN or Inf) in 1 tensor(s): gpt_base.h.0.ln_1.weight: 1 of 32`);
  });
});

describe('saving a weight model where it cannot be written', () => {
  it('below a file: ENOTDIR naming the file', async () => {
    const { loadWeightModel, saveWeightModel } = await import('../../camels/weight-model.js');
    const wm = loadWeightModel(path.join(TINY, 'weight_model.safetensors'), path.join(TINY, 'weight_model_config.json'), { device: 'cpu' });
    const file = path.join(tmp(), 'f');
    fs.writeFileSync(file, 'x');
    try {
      await expect(saveWeightModel(wm, path.join(file, 'wm', 'best.safetensors'))).rejects.toThrow(`cannot create the weight model directory ${path.join(file, 'wm')}: ${file} is a file, not a directory (ENOTDIR)`);
    } finally {
      for (const t of Object.values(wm.params)) t.dispose();
    }
  });
});
