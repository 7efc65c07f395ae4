// convert: every torch fixture to .safetensors keeps each tensor's values (expected.json's sha256 of
// the float32 values) and dtype; to a model directory with a base model, only the parameters, which
// load like the original model; bad requests are refused with the reason.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { convertToModelDir, convertToSafetensorsFile } from '../../models/convert.js';
import { disposeModel, loadPretrained } from '../../models/pretrained.js';
import { openSafetensors } from '../../models/safetensors.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PT = path.join(HERE, '..', 'fixtures', 'torch-pt');
const TINY = path.join(HERE, '..', 'fixtures', 'golden', 'tiny-gpt2');
type Expected = Record<string, Record<string, { dtype: string; shape: number[]; sum: number; sha256_f32: string }>>;
const expected = JSON.parse(fs.readFileSync(path.join(PT, 'expected.json'), 'utf8')) as Expected;
const CODE: Record<string, string> = { float32: 'F32', float16: 'F16', bool: 'BOOL', bfloat16: 'BF16', float64: 'F64', int64: 'I64' };
const sha = (a: Float32Array) => crypto.createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'camels-convert-'));

describe('convert to .safetensors', () => {
  for (const [file, tensors] of Object.entries(expected)) {
    it(`${file}: every tensor with its dtype and values`, () => {
      const out = path.join(tmp(), 'out.safetensors');
      const r = convertToSafetensorsFile(path.join(PT, file), out);
      const st = openSafetensors(out);
      expect(r.tensors).toBe(st.keys().length);
      for (const [key, want] of Object.entries(tensors)) {
        expect(st.info(key).dtype, key).toBe(CODE[want.dtype]);
        expect(st.info(key).shape, key).toEqual(want.shape);
        expect(sha(st.readAsFloat32(key)), key).toBe(want.sha256_f32);
      }
      st.close();
    });
  }

  it('the legacy file converts to the same bytes as the zip file', () => {
    const dir = tmp();
    convertToSafetensorsFile(path.join(PT, 'tiny-gpt2.state_dict.pt'), path.join(dir, 'a.safetensors'));
    convertToSafetensorsFile(path.join(PT, 'tiny-gpt2.state_dict.legacy.pt'), path.join(dir, 'b.safetensors'));
    const parts = (f: string) => {
      const b = fs.readFileSync(path.join(dir, f));
      const n = Number(b.readBigUInt64LE(0));
      const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
      delete header.__metadata__;
      return { header, data: b.subarray(8 + n) };
    };
    const a = parts('a.safetensors');
    const b = parts('b.safetensors');
    expect(b.header).toEqual(a.header);
    expect(b.data.equals(a.data)).toBe(true);
  });

  it('refuses the malicious pickle and writes nothing', () => {
    const out = path.join(tmp(), 'evil.safetensors');
    expect(() => convertToSafetensorsFile(path.join(PT, 'malicious.pt'), out)).toThrow(/refusing global 'posix\.system'/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('convert to a model directory', () => {
  it('best_nll.pt + a base model → a directory loadPretrained reads as the original model', async () => {
    const out = path.join(tmp(), 'model');
    const r = await convertToModelDir(path.join(PT, 'tiny-gpt2.state_dict.pt'), out, TINY);
    expect(r.skipped.sort()).toEqual(['lm_head.weight', 'transformer.h.0.attn.bias', 'transformer.h.0.attn.masked_bias', 'transformer.h.1.attn.bias', 'transformer.h.1.attn.masked_bias']);
    for (const f of ['config.json', 'tokenizer.json', 'model.safetensors']) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    const a = loadPretrained(TINY, { device: 'cpu', trainable: false });
    const b = loadPretrained(out, { device: 'cpu', trainable: false });
    for (const [k, t] of Object.entries(a.params)) expect(Array.from(await b.params[k]!.data()), k).toEqual(Array.from(await t.data()));
    disposeModel(a);
    disposeModel(b);
  });

  it('keeps float16 weights float16', async () => {
    const out = path.join(tmp(), 'model16');
    const r = await convertToModelDir(path.join(PT, 'tiny-gpt2.state_dict.f16.pt'), out, TINY);
    expect(Object.keys(r.dtypes)).toEqual(['float16']);
    const st = openSafetensors(path.join(out, 'model.safetensors'));
    expect(st.info('transformer.wte.weight').dtype).toBe('F16');
    st.close();
  });

  it('a state dict that does not fit the base config is refused with the keys', async () => {
    await expect(convertToModelDir(path.join(PT, 'weight_model.ckpt.pt'), path.join(tmp(), 'x'), TINY)).rejects.toThrow(/missing keys.*transformer\.wte\.weight/s);
  });
});
