// Scratch benchmark of raw WebGPU kernels (no autodiff, no tensors): matmul GFLOP/s at square sizes
// and a few elementwise / fused kernels, printed as JSON lines. Run after `npm run build`:
//   node dist/bench/kernels-raw.js [--sizes 256,512,1024] [--path tiled|rows|naive]
//                                  [--tile BMxBNxBKxTM] [--budget seconds] [--others]
// Each figure is the median over 7 repetitions of (time for `iters` queued calls + one sync) /
// iters, with pipelines warmed first. gflopsPerCpuS divides by this process's CPU time, which on a
// software adapter (whose work runs on our threads) is less sensitive to other jobs on the machine.

import { setMatmulPath, setMatmulTile, type MatmulTile } from '../engine/webgpu/matmul.js';
import { createWebGPUBackend, type WebGPUBackend } from '../engine/webgpu/index.js';
import type { MatmulSpec, Storage } from '../engine/backend.js';

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function randomArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = ((x >>> 0) / 4294967296) * 2 - 1;
  }
  return a;
}

/** Process CPU seconds per call in the last `timeIt` (all threads: llvmpipe's workers included). */
export let lastCpuSeconds = 0;

/** Median seconds per call of `fn` (which returns a storage to free). */
async function timeIt(gpu: WebGPUBackend, fn: () => Storage, budgetS: number): Promise<number> {
  for (let i = 0; i < 2; i++) gpu.free(fn());
  await gpu.sync();
  // Calibrate the number of calls per repetition so one repetition takes about budget / 7.
  let iters = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) gpu.free(fn());
    await gpu.sync();
    const dt = (performance.now() - t0) / 1000;
    if (dt > budgetS / 7 || iters >= 4096) break;
    iters *= 2;
  }
  const times: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < 7; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) gpu.free(fn());
    await gpu.sync();
    times.push((performance.now() - t0) / 1000 / iters);
    const c1 = process.cpuUsage(c0);
    cpu.push((c1.user + c1.system) / 1e6 / iters);
  }
  lastCpuSeconds = median(cpu);
  return median(times);
}

export interface MatmulResult {
  n: number;
  /** Wall-clock GFLOP/s (2n^3 / median time). */
  gflops: number;
  ms: number;
  /** GFLOP per CPU-second of this process (meaningful on software adapters, whose work runs on our threads). */
  gflopsPerCpuS: number;
}

export async function benchMatmul(gpu: WebGPUBackend, sizes: number[], budgetS = 2): Promise<MatmulResult[]> {
  const out: MatmulResult[] = [];
  for (const n of sizes) {
    const a = gpu.fromArray(randomArray(n * n, 1), 'float32');
    const b = gpu.fromArray(randomArray(n * n, 2), 'float32');
    const spec: MatmulSpec = { batch: [], aBatchStrides: [], bBatchStrides: [], M: n, K: n, N: n, transA: false, transB: false };
    const s = await timeIt(gpu, () => gpu.matmul(a, b, spec), budgetS);
    const gflops = (2 * n * n * n) / s / 1e9;
    out.push({ n, gflops, ms: s * 1e3, gflopsPerCpuS: (2 * n * n * n) / lastCpuSeconds / 1e9 });
    gpu.free(a);
    gpu.free(b);
  }
  return out;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sizes = (arg('--sizes') ?? '256,512,1024').split(',').map(Number);
  const tileArg = arg('--tile');
  if (tileArg) {
    const [BM, BN, BK, TM] = tileArg.split('x').map(Number) as [number, number, number, number];
    const t: MatmulTile = { BM, BN, BK, TM };
    setMatmulTile(t);
  }
  const pathArg = arg('--path');
  if (pathArg === 'tiled' || pathArg === 'rows') setMatmulPath(pathArg);
  const gpu = await createWebGPUBackend();
  if (!gpu) {
    console.error('no WebGPU adapter');
    process.exitCode = 1;
    return;
  }
  try {
    console.log(JSON.stringify({ adapter: gpu.adapterName, tile: tileArg ?? 'auto' }));
    for (const r of await benchMatmul(gpu, sizes, Number(arg('--budget') ?? 2))) {
      console.log(
        JSON.stringify({
          kernel: 'matmul',
          n: r.n,
          gflops: Number(r.gflops.toFixed(2)),
          ms: Number(r.ms.toFixed(3)),
          gflopsPerCpuS: Number(r.gflopsPerCpuS.toFixed(2)),
        }),
      );
    }
    if (args.includes('--others')) {
      const R = 2048;
      const C = 768;
      const x = gpu.fromArray(randomArray(R * C, 3), 'float32');
      const w = gpu.fromArray(randomArray(C, 4), 'float32');
      const bb = gpu.fromArray(randomArray(C, 5), 'float32');
      const report = (kernel: string, s: number, bytes: number): void =>
        console.log(JSON.stringify({ kernel, us: Number((s * 1e6).toFixed(1)), gbps: Number((bytes / s / 1e9).toFixed(2)) }));
      report('add_scalar 2048x768', await timeIt(gpu, () => gpu.unary('add_scalar', x, 1), 1), 8 * R * C);
      report('gelu_tanh 2048x768', await timeIt(gpu, () => gpu.unary('gelu_tanh', x, 1), 1), 8 * R * C);
      report('softmax 2048x768', await timeIt(gpu, () => gpu.softmax(x, R, C), 1), 8 * R * C);
      report('layerNorm 2048x768', await timeIt(gpu, () => gpu.layerNorm(x, w, bb, R, C, 1e-5), 1), 8 * R * C);
      report('reduce sum axis0 2048x768', await timeIt(gpu, () => gpu.reduce('sum', x, [R, C], [0]), 1), 4 * R * C);
      const tiny = gpu.fromArray(randomArray(256, 6), 'float32');
      report('dispatch (add_scalar, 256 elems)', await timeIt(gpu, () => gpu.unary('add_scalar', tiny, 1), 1), 8 * 256);
      const [B, H, T, D] = [1, 12, 256, 64];
      const q = gpu.fromArray(randomArray(B * H * T * D, 7), 'float32');
      const s = await timeIt(gpu, () => gpu.attention(q, q, q, null, { B, H, T, D, scale: 0.125, causal: true, window: 0 }), 1);
      console.log(JSON.stringify({ kernel: 'attention causal 1x12x256x64', ms: Number((s * 1e3).toFixed(3)), gflops: Number(((2 * 2 * B * H * T * T * D) / 2 / s / 1e9).toFixed(2)) }));
      for (const st of [x, w, bb, tiny, q]) gpu.free(st);
    }
  } finally {
    gpu.destroy();
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop() ?? '')) {
  void main();
}
