// Helpers for the golden-fixture tests: read expected tensors, build the HF causal-LM loss,
// compare with norm-relative error.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from '../../engine/index.js';
import type { DType, DeviceName, Tensor } from '../../engine/index.js';
import { openSafetensors, type SafetensorsFile } from '../../models/safetensors.js';

export const GOLDEN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'golden');
export const MODELS = ['tiny-gpt2', 'tiny-gpt-neo', 'tiny-gptj'] as const;

export function openExpected(model: string): SafetensorsFile {
  return openSafetensors(path.join(GOLDEN, model, 'expected.safetensors'));
}

export function ints(f: SafetensorsFile, key: string): { data: number[]; shape: number[] } {
  return { data: Array.from(f.readAsInt32(key)), shape: f.info(key).shape };
}

export function intTensor(f: SafetensorsFile, key: string, device: DeviceName): Tensor {
  const { data, shape } = ints(f, key);
  return E.tensor(data, shape, { dtype: 'int32', device });
}

export function floatTensor(f: SafetensorsFile, key: string, dtype: DType, device: DeviceName): Tensor {
  return E.tensor(f.readAsFloat64(key), f.info(key).shape, { dtype, device });
}

export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i]! - want[i]!) ** 2;
    den += want[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** Labels for the HF causal-LM loss: ids shifted left by one, -100 where the next token is a pad. [B, T-1] */
export function shiftedLabels(ids: number[], mask: number[], B: number, T: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) out.push(mask[b * T + t] ? ids[b * T + t]! : -100);
  return out;
}
