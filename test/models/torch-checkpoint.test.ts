// The torch.save reader against the reference's own files (test/fixtures/torch-pt, made by torch 1.13):
// every tensor of every fixture matches expected.json (shape, dtype, float64 sum, sha256 of the
// float32 values); the legacy file equals the zip one; tied storages and strided views; the malicious
// pickle is refused by name and runs nothing; truncated and foreign files give clear errors.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { collectStateDict, openTorchCheckpoint } from '../../models/torch-checkpoint/state-dict.js';
import { unpickle, UnpicklingError } from '../../models/torch-checkpoint/unpickler.js';
import { resolveTorchGlobal } from '../../models/torch-checkpoint/torch-globals.js';
import { openSafetensors } from '../../models/safetensors.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'torch-pt');
const GOLDEN_GPT2 = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'golden', 'tiny-gpt2');
type Expected = Record<string, Record<string, { dtype: string; shape: number[]; sum: number; sha256_f32: string }>>;
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Expected;

const sha256F32 = (a: Float32Array) => crypto.createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'camels-pt-'));

describe('torch.save reader: fixtures match expected.json', () => {
  for (const [file, tensors] of Object.entries(expected)) {
    it(file, () => {
      const ck = openTorchCheckpoint(path.join(DIR, file));
      try {
        for (const [key, want] of Object.entries(tensors)) {
          expect(ck.has(key), `${file}: ${key}`).toBe(true);
          const info = ck.info(key);
          expect(info.shape, key).toEqual(want.shape);
          expect(info.torchDtype, key).toBe(want.dtype);
          const f32 = ck.readAsFloat32(key);
          expect(sha256F32(f32), key).toBe(want.sha256_f32);
          const sum = ck.readAsFloat64(key).reduce((a, b) => a + b, 0);
          expect(Math.abs(sum - want.sum), `${key}: sum ${sum} vs ${want.sum}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want.sum)));
        }
        if (file !== 'tiny-gpt2.state_dict.strided.pt') expect(ck.keys().sort()).toEqual(Object.keys(tensors).sort());
      } finally {
        ck.close();
      }
    });
  }

  it('the legacy (pre-1.6) file holds exactly the zip file\'s tensors', () => {
    const zip = openTorchCheckpoint(path.join(DIR, 'tiny-gpt2.state_dict.pt'));
    const legacy = openTorchCheckpoint(path.join(DIR, 'tiny-gpt2.state_dict.legacy.pt'));
    expect(legacy.metadata.torch_format).toBe('legacy');
    expect(zip.metadata.torch_format).toBe('zip');
    expect(legacy.keys().sort()).toEqual(zip.keys().sort());
    for (const k of zip.keys()) {
      expect(legacy.info(k).shape).toEqual(zip.info(k).shape);
      expect(sha256F32(legacy.readAsFloat32(k)), k).toBe(sha256F32(zip.readAsFloat32(k)));
    }
    zip.close();
    legacy.close();
  });

  it('lm_head.weight shares wte\'s storage, and the values are the fixture model\'s', () => {
    const ck = openTorchCheckpoint(path.join(DIR, 'tiny-gpt2.state_dict.pt'));
    expect(ck.info('lm_head.weight').storageKey).toBe(ck.info('transformer.wte.weight').storageKey);
    const st = openSafetensors(path.join(GOLDEN_GPT2, 'model.safetensors'));
    for (const k of st.keys()) expect(ck.readAsFloat32(k), k).toEqual(st.readAsFloat32(k));
    st.close();
    ck.close();
  });

  it('a strided view is gathered by its offset and strides', () => {
    const ck = openTorchCheckpoint(path.join(DIR, 'tiny-gpt2.state_dict.strided.pt'));
    const info = ck.info('extra.strided');
    expect(info.storageOffset).toBeGreaterThan(0);
    expect(info.stride).not.toEqual([32, 1]);
    ck.close();
  });
});

describe('torch.save reader: protocol 4, deflate, bfloat16, int64, views (make_extra.py)', () => {
  const EXTRA = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'torch-pt-extra', 'proto4-deflate.pt');

  it('reads the state dict next to non-tensor entries, with its views and dtypes', () => {
    const ck = openTorchCheckpoint(EXTRA);
    expect(ck.keys()).toEqual(['a', 'a_t', 'tail', 'ids', 'half']);
    expect(Array.from(ck.readAsFloat32('a'))).toEqual([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
    // the transpose shares a's storage: [[0.5, 3.5], [1.5, 4.5], [2.5, 5.5]]
    expect(ck.info('a_t').storageKey).toBe(ck.info('a').storageKey);
    expect(Array.from(ck.readAsFloat32('a_t'))).toEqual([0.5, 3.5, 1.5, 4.5, 2.5, 5.5]);
    expect(Array.from(ck.readAsFloat32('tail'))).toEqual([4.5, 5.5]);
    expect(ck.read('ids').data).toEqual(BigInt64Array.from([-7n, 2n ** 40n, 9n]));
    expect(() => ck.readAsInt32('ids')).toThrow(/ids.*1099511627776.*does not fit in int32/);
    expect(ck.info('half').dtype).toBe('BF16');
    expect(Array.from(ck.readAsFloat32('half'))).toEqual([1, -2, 3.140625, 0]);
    ck.close();
    expect(() => ck.read('a')).toThrow(/read after close/);
  });
});

describe('torch.save reader: refusals', () => {
  it('refuses the malicious pickle by naming its global, and runs nothing', () => {
    const marker = '/tmp/camels-pt-pwned';
    fs.rmSync(marker, { force: true });
    expect(() => openTorchCheckpoint(path.join(DIR, 'malicious.pt'))).toThrow(/refusing global 'posix\.system'/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('refuses any global outside the allow-list, wherever it appears', () => {
    // protocol 2: GLOBAL 'builtins eval', then STOP
    const pkl = Buffer.concat([Buffer.from([0x80, 2]), Buffer.from('cbuiltins\neval\n', 'latin1'), Buffer.from('.')]);
    expect(() => unpickle(pkl, { where: 't', resolveGlobal: resolveTorchGlobal })).toThrow(/refusing global 'builtins\.eval'/);
    const stackGlobal = Buffer.concat([Buffer.from([0x80, 4, 0x8c, 2]), Buffer.from('os'), Buffer.from([0x8c, 6]), Buffer.from('system'), Buffer.from([0x93, 0x2e])]);
    expect(() => unpickle(stackGlobal, { where: 't', resolveGlobal: resolveTorchGlobal })).toThrow(UnpicklingError);
  });

  it('a dict that contains itself is an error, not a hang or a stack overflow', () => {
    // {'a': <the same dict>}: EMPTY_DICT, BINPUT 0, 'a', BINGET 0, SETITEM, STOP
    const pkl = Buffer.concat([Buffer.from([0x80, 2, 0x7d, 0x71, 0, 0x8c, 1]), Buffer.from('a'), Buffer.from([0x68, 0, 0x73, 0x2e])]);
    const root = unpickle(pkl, { where: 't', resolveGlobal: resolveTorchGlobal }).value;
    expect(() => collectStateDict(root, 'cyclic.pt')).toThrow(/cyclic\.pt.*cycle/);
  });

  it('a truncated zip checkpoint is an error naming the file', () => {
    const dir = tmp();
    const cut = path.join(dir, 'cut.pt');
    fs.writeFileSync(cut, fs.readFileSync(path.join(DIR, 'tiny-gpt2.state_dict.pt')).subarray(0, 50_000));
    expect(() => openTorchCheckpoint(cut)).toThrow(/cut\.pt.*(end-of-central-directory|truncated)/);
  });

  it('a truncated legacy checkpoint is an error naming the file', () => {
    const dir = tmp();
    const cut = path.join(dir, 'cut-legacy.pt');
    fs.writeFileSync(cut, fs.readFileSync(path.join(DIR, 'tiny-gpt2.state_dict.legacy.pt')).subarray(0, 100_000));
    expect(() => openTorchCheckpoint(cut)).toThrow(/cut-legacy\.pt.*truncated/);
  });

  it('a file that is neither zip nor pickle is named as such', () => {
    const dir = tmp();
    const f = path.join(dir, 'notes.pt');
    fs.writeFileSync(f, 'hello, not a checkpoint\n');
    expect(() => openTorchCheckpoint(f)).toThrow(/notes\.pt.*not a torch\.save file/);
    expect(() => openTorchCheckpoint(path.join(dir, 'missing.pt'))).toThrow(/missing\.pt.*cannot open/);
  });
});
