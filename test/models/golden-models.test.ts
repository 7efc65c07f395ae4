// Golden parity with PyTorch + transformers: logits, loss, every parameter gradient and the
// Hessian-vector products, on cpu float64 and webgpu float32, for tiny GPT-2, GPT-Neo and GPT-J.

import { describe, it } from 'vitest';
import type { DType, DeviceName } from '../../engine/index.js';
import type { WebGPUBackend } from '../../engine/webgpu/index.js';
import { deviceUnderTest } from '../engine/webgpu-required.js';
import { MODELS, checkGolden } from './golden.js';

const tolerances: Record<string, { logits: number; grads: number }> = {
  'cpu:tiny-gpt2': { logits: 1e-9, grads: 1e-9 },
  'cpu:tiny-gpt-neo': { logits: 1e-5, grads: 1e-5 },
  'cpu:tiny-gptj': { logits: 1e-5, grads: 1e-5 },
  webgpu: { logits: 1e-4, grads: 1e-3 },
};

function check(model: string, device: DeviceName, dtype: DType): Promise<void> {
  return checkGolden(model, device, dtype, tolerances[device === 'cpu' ? `cpu:${model}` : 'webgpu']!);
}

describe('golden models: cpu float64', () => {
  for (const m of MODELS) it(m, () => check(m, 'cpu', 'float64'));
});

describe('golden models: webgpu float32', () => {
  for (const m of MODELS) {
    it(m, async () => {
      if (!(await deviceUnderTest('webgpu'))) return;
      await check(m, 'webgpu', 'float32');
    });
  }
});

// The same checks with bindings of 32 KiB: the 512 x 32 embedding, the logits and their gradients no
// longer fit one binding, so gather, scatterAdd, the LM head matmul, cross-entropy rows (staged,
// since 64 rows of 512 exceed a window) and the elementwise ops all run their windowed paths.
describe('golden models: webgpu float32 with storages larger than one binding', () => {
  for (const m of MODELS) {
    it(m, async () => {
      const gpu = (await deviceUnderTest('webgpu')) as WebGPUBackend | null;
      if (!gpu) return;
      const saved = gpu.rt.maxBindingBytes;
      gpu.rt.maxBindingBytes = 32 * 1024;
      try {
        await check(m, 'webgpu', 'float32');
      } finally {
        gpu.rt.maxBindingBytes = saved;
      }
    });
  }
});
