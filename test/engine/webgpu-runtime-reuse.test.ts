// The webgpu runtime reuses what it creates: a warm training step of a small transformer block
// (embedding, layer norm, attention with a key mask, GELU MLP, cross-entropy, in-place SGD) creates
// no new bind groups (the target is ≤ 2%), uploads nothing, reads nothing back, submits about every 100
// dispatches, and leaves the live count unchanged — from its second step on. Both kernel families.

import { afterAll, describe, expect, it } from 'vitest';
import { StepCounter } from '../../bench/counters.js';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { HostRng } from '../../engine/random.js';
import { FLUSH_DISPATCHES } from '../../engine/webgpu/runtime.js';
import type { KernelFamily, WebGPUBackend } from '../../engine/webgpu/index.js';
import { deviceUnderTest } from './webgpu-required.js';

const gpu = (await deviceUnderTest('webgpu')) as WebGPUBackend | null;
const savedFamily = gpu?.kernelFamily;
afterAll(() => {
  if (gpu && savedFamily) gpu.kernelFamily = savedFamily;
});

const [V, C, H, B, T] = [97, 32, 4, 3, 11];

function param(shape: number[], seed: number, scale = 0.2): Tensor {
  const r = new HostRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return E.tensor(Array.from({ length: n }, () => scale * r.normal()), shape, { device: 'webgpu', requiresGrad: true });
}

function block(p: Record<string, Tensor>, ids: Tensor, keyMask: Tensor, targets: Tensor): Tensor {
  const x = E.gather(p.wte!, ids); // [B, T, C]
  const h = E.layerNorm(x, p.ln_w!, p.ln_b!);
  const qkv = E.linear(h, p.attn_w!, p.attn_b!, 'in_out'); // [B, T, 3C]
  const heads = (i: number) => E.permute(E.reshape(E.slice(qkv, [0, 0, i * C], [B, T, (i + 1) * C]), [B, T, H, C / H]), [0, 2, 1, 3]);
  const a = E.attention(heads(0), heads(1), heads(2), { keyMask });
  const merged = E.reshape(E.permute(a, [0, 2, 1, 3]), [B, T, C]);
  const r = E.add(x, merged);
  const m = E.linear(E.geluTanh(E.linear(E.layerNorm(r, p.ln2_w!, p.ln2_b!), p.fc_w!, p.fc_b!, 'in_out')), p.proj_w!, p.proj_b!, 'in_out');
  const logits = E.matmul(E.add(r, m), p.wte!, { transB: true }); // [B, T, V]
  return E.meanCrossEntropy(logits, targets);
}

describe.skipIf(!gpu)('webgpu runtime reuse in a warm training step', () => {
  for (const family of ['gpu', 'software'] as KernelFamily[]) {
    it(`${family} kernels: no new bind groups in its second step, no uploads, no readbacks, a submit every ~${FLUSH_DISPATCHES} dispatches`, async () => {
      gpu!.kernelFamily = family;
      const p: Record<string, Tensor> = {
        wte: param([V, C], 1),
        ln_w: param([C], 2),
        ln_b: param([C], 3),
        attn_w: param([C, 3 * C], 4),
        attn_b: param([3 * C], 5),
        ln2_w: param([C], 6),
        ln2_b: param([C], 7),
        fc_w: param([C, 4 * C], 8),
        fc_b: param([4 * C], 9),
        proj_w: param([4 * C, C], 10),
        proj_b: param([C], 11),
      };
      const rng = new HostRng(5);
      const ids = E.tensor(Array.from({ length: B * T }, () => Math.floor(rng.uniform() * V)), [B, T], { dtype: 'int32', device: 'webgpu' });
      const targets = E.tensor(Array.from({ length: B * T }, (_, i) => (i % T === T - 1 ? -100 : Math.floor(rng.uniform() * V))), [B, T], { dtype: 'int32', device: 'webgpu' });
      const keyMask = E.tensor(Array.from({ length: B * T }, (_, i) => (i < 2 ? 0 : 1)), [B, T], { device: 'webgpu' });
      const params = Object.values(p);
      const step = () =>
        E.tidy(() => {
          const loss = block(p, ids, keyMask, targets);
          E.sgdStepInPlace(params, E.grad(loss, params), 1e-2);
        });
      const counter = new StepCounter(gpu!);
      try {
        step(); // the first step creates what the next ones reuse; the second is the warm one counted
        await gpu!.sync();
        const live = gpu!.liveCount();
        counter.reset();
        step();
        await gpu!.sync();
        const c = counter.read();
        expect(gpu!.liveCount()).toBe(live);
        expect(c.kernels).toBeGreaterThan(50);
        expect(c.dispatches!).toBeGreaterThanOrEqual(c.kernels - 5);
        expect(c.bind_groups_created!, `${c.bind_groups_created} new bind groups in ${c.dispatches} dispatches`).toBe(0);
        expect(c.upload_bytes).toBe(0);
        expect(c.readbacks).toBe(0);
        expect(c.submits!).toBeGreaterThanOrEqual(Math.floor(c.dispatches! / FLUSH_DISPATCHES));
        expect(c.submits!).toBeLessThanOrEqual(Math.ceil(c.dispatches! / FLUSH_DISPATCHES) + 2);
        // the step still trains: its loss is finite after the updates
        const loss = block(p, ids, keyMask, targets);
        expect(Number.isFinite((await loss.data())[0]!)).toBe(true);
        loss.dispose();
      } finally {
        counter.detach();
        [...params, ids, targets, keyMask].forEach((t) => t.dispose());
      }
    });
  }
});
