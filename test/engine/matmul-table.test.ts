// The gpu family's per-shape matmul table (engine/webgpu/matmul-table.ts), without a device: what
// each GPT-2 small product at 2048 tokens gets on an H200's limits and on llvmpipe's, the vec4
// alignment rule, and the split-K rule's edges.

import { describe, expect, it } from 'vitest';
import { GPT2_MATMULS } from '../../bench/kernels.js';
import { describePlan, FILL_GROUPS, planMatmul, vec4Aligned, type MatmulLimits, type MatmulShape } from '../../engine/webgpu/matmul-table.js';

const H200: MatmulLimits = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 49152, maxBindingBytes: 2 ** 31 - 256 };
const LLVMPIPE: MatmulLimits = { maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 32768, maxBindingBytes: 2 ** 27 };
/** WebGPU's guaranteed minimums. */
const BASELINE: MatmulLimits = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384, maxBindingBytes: 2 ** 27 };

function shape(M: number, K: number, N: number, transA = false, transB = false, batch = 1): MatmulShape {
  return { M, N, K, batch, transA, transB, aligned: vec4Aligned({ M, N, K, transA, transB }, [], []) };
}

describe('matmul table', () => {
  it('GPT-2 small products (B·T = 2048, C = 768, V = 50257)', () => {
    const expected: Record<string, string> = {
      c_attn: 'tiled128 128x128',
      c_proj: 'tiled128 128x128',
      c_fc: 'tiled128 128x128',
      'mlp_proj (K=3072)': 'tiled128 128x128 split 3',
      lm_head: 'tiled128 128x128',
      'lm_head dX (K=50257)': 'tiled 128x64 split 2',
      'c_attn dW (transA)': 'tiled128 128x128 split 3',
      'c_fc dW (transA)': 'tiled128 128x128 split 2',
      'lm_head dW (transA)': 'tiled 128x64',
    };
    expect(GPT2_MATMULS.map((c) => c.name).sort()).toEqual(Object.keys(expected).sort());
    for (const limits of [H200, LLVMPIPE, BASELINE]) {
      for (const c of GPT2_MATMULS) {
        const [M, K, N] = c.mkn;
        expect(describePlan(planMatmul(shape(M, K, N, c.transA, c.transB), limits)), c.name).toBe(expected[c.name]);
      }
    }
  });

  it('split chunks cover K in multiples of the k-tile', () => {
    for (const [M, K, N, t] of [[2048, 3072, 768, false], [2048, 50257, 768, false], [768, 2048, 2304, true], [128, 1024, 128, false], [130, 1037, 129, false]] as const) {
      const p = planMatmul(shape(M, K, N, t), H200);
      expect(p.split, `${M}x${K}x${N}`).toBeGreaterThan(1);
      expect(p.kchunk % p.tile.BK).toBe(0);
      expect((p.split - 1) * p.kchunk).toBeLessThan(K); // no empty split
      expect(p.split * p.kchunk).toBeGreaterThanOrEqual(K);
      expect(p.kchunk).toBeGreaterThanOrEqual(512 - p.tile.BK);
    }
  });

  it('no split for batched products, short K, or a full GPU', () => {
    expect(planMatmul(shape(128, 4096, 128, false, false, 2), H200).split).toBe(1);
    expect(planMatmul(shape(2048, 768, 768), H200).split).toBe(1); // K / 512 < 2
    expect(planMatmul(shape(4096, 4096, 4096), H200).split).toBe(1); // 1024 tiles ≥ FILL_GROUPS
    expect(Math.ceil(4096 / 128) ** 2).toBeGreaterThanOrEqual(FILL_GROUPS);
    // The scratch [S, M, N] must fit one binding: 2 x 4096 x 4096 floats is 128 MiB.
    const big = planMatmul(shape(4096, 65536, 4096), { ...H200, maxBindingBytes: 2 ** 27 });
    expect(big.split * 4096 * 4096 * 4).toBeLessThanOrEqual(2 ** 27);
  });

  it('vec4 alignment: the dims the loads run along, batch strides, binding offsets', () => {
    expect(vec4Aligned({ M: 5, N: 8, K: 12, transA: false, transB: false }, [], [])).toBe(true); // A along K, B along N
    expect(vec4Aligned({ M: 5, N: 8, K: 12, transA: true, transB: false }, [], [])).toBe(false); // Aᵀ along M = 5
    expect(vec4Aligned({ M: 8, N: 7, K: 12, transA: true, transB: true }, [], [])).toBe(true); // Bᵀ along K
    expect(vec4Aligned({ M: 8, N: 8, K: 13, transA: true, transB: false }, [], [])).toBe(true); // K free when neither runs along it
    expect(vec4Aligned({ M: 8, N: 8, K: 8, transA: false, transB: false }, [66], [0])).toBe(false);
    expect(vec4Aligned({ M: 8, N: 8, K: 8, transA: false, transB: false }, [64], [0], 256, 8)).toBe(false);
  });

  it('falls back to the general kernel: unaligned, narrow, or a device without 16 KiB / 256 invocations', () => {
    expect(planMatmul(shape(127, 129, 130), H200).variant).toBe('tiled');
    expect(planMatmul(shape(32, 256, 256), H200).variant).toBe('tiled'); // M < 64
    expect(planMatmul(shape(256, 256, 256), H200).variant).toBe('tiled128');
    const small = { ...H200, maxComputeWorkgroupStorageSize: 8192 };
    const p = planMatmul(shape(256, 256, 256), small);
    expect(p.variant).toBe('tiled');
    expect((p.tile.BM + p.tile.BN + 8) * p.tile.BK * 4).toBeLessThanOrEqual(8192);
  });
});
