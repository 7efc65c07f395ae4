// Kernel benchmarks: matmul (square sizes; `--op matmul_gpt2`: the products of a GPT-2 small step
// at batch 8 x 256), softmax and layerNorm rows of 768 and 50257, fused attention at T = 256 and 1024. Median of timed repetitions, each ending in one device sync.
// FLOPs: matmul 2·M·N·K; attention 4·B·H·T²·D (two matmuls). Bytes: softmax/layerNorm read + write.

import * as E from '../engine/index.js';
import type { Backend } from '../engine/index.js';
import { lastMatmulVariant } from '../engine/webgpu/matmul.js';
import { printRecord, timeMedian, type BenchRecord } from './timing.js';

export interface KernelBenchOptions {
  json: boolean;
  op?: string;
  size?: number;
  repeat: number;
}

function maxMatmul(b: Backend): number {
  // A software adapter does ~5 GFLOP/s: 2048³ would take seconds per run.
  return b.name === 'webgpu' && /llvmpipe|swiftshader|lavapipe/i.test(b.adapterName) ? 1024 : b.name === 'cpu' ? 512 : 4096;
}

/** [M, K, N] of the products of a GPT-2 small training step at 2048 tokens. */
export const GPT2_MATMULS: { name: string; mkn: [number, number, number]; transA: boolean; transB: boolean }[] = [
  { name: 'c_attn', mkn: [2048, 768, 2304], transA: false, transB: false },
  { name: 'c_proj', mkn: [2048, 768, 768], transA: false, transB: false },
  { name: 'c_fc', mkn: [2048, 768, 3072], transA: false, transB: false },
  { name: 'mlp_proj (K=3072)', mkn: [2048, 3072, 768], transA: false, transB: false },
  { name: 'lm_head', mkn: [2048, 768, 50257], transA: false, transB: true },
  { name: 'lm_head dX (K=50257)', mkn: [2048, 50257, 768], transA: false, transB: false },
  { name: 'c_attn dW (transA)', mkn: [768, 2048, 2304], transA: true, transB: false },
  { name: 'c_fc dW (transA)', mkn: [768, 2048, 3072], transA: true, transB: false },
  { name: 'lm_head dW (transA)', mkn: [50257, 2048, 768], transA: true, transB: false },
];

export async function benchKernels(backend: Backend, opts: KernelBenchOptions): Promise<BenchRecord[]> {
  const out: BenchRecord[] = [];
  const device = backend.name;
  // Op names are the op table's bench names (engine/op-table), matched case-insensitively so the old
  // lowercase spelling (`layernorm`) still works.
  const want = (op: string, size: number) => (!opts.op || opts.op.toLowerCase() === op.toLowerCase()) && (!opts.size || opts.size === size);
  const emit = (r: BenchRecord) => {
    out.push(r);
    printRecord(r, opts.json);
  };
  const base = { backend: device, adapter: backend.adapterName };
  // The webgpu kernel the last product ran (matmul-table.ts on the gpu family), for the records.
  const variant = (): { variant?: string } => {
    const v = device === 'webgpu' ? lastMatmulVariant() : null;
    return v ? { variant: v } : {};
  };

  for (const n of [256, 512, 1024, 2048, 4096]) {
    if (!want('matmul', n) || (n > maxMatmul(backend) && opts.size !== n)) continue;
    const a = E.randNormal([n, n], 0, 1, { seed: 1, device });
    const b = E.randNormal([n, n], 0, 1, { seed: 2, device });
    const inner = n <= 512 ? 10 : n <= 1024 ? 3 : 1;
    const ms = await timeMedian(backend, () => E.tidy(() => void E.matmul(a, b)), { repeat: opts.repeat, inner });
    emit({ op: 'matmul', shape: [n, n, n], ...base, ms, gflops: (2 * n * n * n) / (ms * 1e6), ...variant() });
    a.dispose();
    b.dispose();
  }

  // GPT-2 small at 8 x 256 tokens (M = 2048): the four linears forward, the LM head, its dX
  // (K = 50257), and transposed weight gradients dW = Xᵀ dY. Only when asked for (`--op
  // matmul_gpt2`): ~1.5 TFLOP in all, minutes on a software adapter.
  if (opts.op?.toLowerCase() === 'matmul_gpt2') {
    for (const c of GPT2_MATMULS) {
      const [M, K, N] = c.mkn;
      const a = E.randNormal(c.transA ? [K, M] : [M, K], 0, 1, { seed: 1, device });
      const b = E.randNormal(c.transB ? [N, K] : [K, N], 0, 1, { seed: 2, device });
      const ms = await timeMedian(backend, () => E.tidy(() => void E.matmul(a, b, { transA: c.transA, transB: c.transB })), { repeat: opts.repeat });
      emit({ op: 'matmul', shape: [M, K, N], ...base, ms, gflops: (2 * M * N * K) / (ms * 1e6), tflops: (2 * M * N * K) / (ms * 1e9), case: c.name, transA: c.transA ? 1 : 0, transB: c.transB ? 1 : 0, ...variant() });
      a.dispose();
      b.dispose();
    }
  }

  for (const C of [768, 50257]) {
    const R = C === 768 ? 2048 : 64;
    for (const op of ['softmax', 'layerNorm'] as const) {
      if (!want(op, C)) continue;
      const x = E.randNormal([R, C], 0, 1, { seed: 3, device });
      const w = E.ones([C], { device });
      const bias = E.zeros([C], { device });
      const ms = await timeMedian(backend, () => E.tidy(() => void (op === 'softmax' ? E.softmax(x) : E.layerNorm(x, w, bias))), { repeat: opts.repeat, inner: 5 });
      emit({ op, shape: [R, C], ...base, ms, gbps: (2 * R * C * 4) / (ms * 1e6) });
      for (const t of [x, w, bias]) t.dispose();
    }
  }

  for (const T of [256, 1024]) {
    if (!want('attention', T)) continue;
    const B = 1;
    const H = 12;
    const D = 64;
    const q = E.randNormal([B, H, T, D], 0, 1, { seed: 4, device });
    const k = E.randNormal([B, H, T, D], 0, 1, { seed: 5, device });
    const v = E.randNormal([B, H, T, D], 0, 1, { seed: 6, device });
    const ms = await timeMedian(backend, () => E.tidy(() => void E.attention(q, k, v, { causal: true })), { repeat: opts.repeat, inner: T <= 256 ? 3 : 1 });
    emit({ op: 'attention', shape: [B, H, T, D], ...base, ms, gflops: (4 * B * H * T * T * D) / (ms * 1e6), causal: 1 });
    for (const t of [q, k, v]) t.dispose();
  }
  return out;
}
