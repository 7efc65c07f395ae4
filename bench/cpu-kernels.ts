// Scratch benchmark of cpu backend kernels (no tensors, no autodiff): elementwise ops on 1M float32
// elements in the layouts training produces (same shape, bias row broadcast, keepdim column
// broadcast, scalar, transposed copy), reductions over rows and columns, matmul at 512³ and the
// skinny shapes of a tiny GPT-2 (all transpose combinations), and the fused row kernels.
//
// benchCpuKernels takes one or more backends by label, e.g. { new: new CpuBackend(), old: ... }, and
// times each case on each backend in turn (so they share the machine's load), reporting the best of
// several runs — the least disturbed one on a busy machine. Run it from a scratch vitest file or
// after `npm run build` with `node dist/bench/cpu-kernels.js [filter] [float64]`.

import { fileURLToPath } from 'node:url';
import type { Backend, BinaryOp, DType, MatmulSpec, Storage, UnaryOp, View } from '../engine/backend.js';
import { CpuBackend } from '../engine/cpu/index.js';

export interface CpuKernelResult {
  case: string;
  /** Best milliseconds per call, by backend label. */
  ms: Record<string, number>;
  /** Floating-point operations per call, for GFLOP/s (matmul only). */
  flops?: number;
}

function values(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = ((x >>> 0) / 4294967296) * 4 - 2;
  }
  return a;
}

const contiguous = (shape: number[]): View => {
  const strides = shape.map(() => 0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return { offset: 0, strides };
};

/** Best time in ms of `fn` (which returns storages to free) over `repeat` runs after a warm-up. */
function best(b: Backend, fn: () => Storage | Storage[] | void, repeat: number): number {
  const release = (r: Storage | Storage[] | void) => {
    if (!r) return;
    for (const s of Array.isArray(r) ? r : [r]) b.free(s);
  };
  release(fn());
  release(fn());
  let bestMs = Infinity;
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    const r = fn();
    bestMs = Math.min(bestMs, performance.now() - t);
    release(r);
  }
  return bestMs;
}

type Case = { name: string; flops?: number; make: (b: Backend) => { run: () => Storage | Storage[] | void; done: () => void } };

function cases(dtype: DType): Case[] {
  const out: Case[] = [];
  const R = 1024;
  const C = 1024;
  const n = R * C;
  const store = (b: Backend, xs: Float64Array, dt: DType = dtype): Storage =>
    b.fromArray(dt === 'float32' ? Float32Array.from(xs) : Float64Array.from(xs), dt);
  const full = contiguous([R, C]);
  for (const op of ['mul_scalar', 'add_scalar', 'exp', 'gelu_tanh'] as UnaryOp[]) {
    out.push({
      name: `unary ${op} [${R},${C}]`,
      make: (b) => {
        const x = store(b, values(n, 1));
        return { run: () => b.unary(op, x, 0.5), done: () => b.free(x) };
      },
    });
  }
  const layouts: [string, number, View][] = [
    ['same', n, full],
    ['row bias [C]', C, { offset: 0, strides: [0, 1] }],
    ['col [R,1]', R, { offset: 0, strides: [1, 0] }],
    ['scalar', 1, { offset: 0, strides: [0, 0] }],
    ['transposed', n, { offset: 0, strides: [1, R] }],
  ];
  for (const op of ['add', 'mul'] as BinaryOp[]) {
    for (const [lname, size, view] of layouts) {
      if (op === 'add' && lname === 'transposed') continue;
      out.push({
        name: `binary ${op} ${lname}`,
        make: (b) => {
          const x = store(b, values(n, 2));
          const y = store(b, values(size, 3));
          return {
            run: () => b.binary(op, x, full, y, view, [R, C]),
            done: () => {
              b.free(x);
              b.free(y);
            },
          };
        },
      });
    }
  }
  out.push({
    name: 'where causal-like [8,4,128,128]',
    make: (b) => {
      const shape = [8, 4, 128, 128];
      const c = store(b, values(128 * 128, 4));
      const x = store(b, values(n, 5));
      const y = store(b, values(1, 6));
      return {
        run: () =>
          b.where(c, { offset: 0, strides: [0, 0, 128, 1] }, x, contiguous(shape), y, { offset: 0, strides: [0, 0, 0, 0] }, shape),
        done: () => [c, x, y].forEach((s) => b.free(s)),
      };
    },
  });
  out.push({
    name: 'copy transpose [8,128,4,32]→[8,4,128,32]',
    make: (b) => {
      const x = store(b, values(n / 8, 7));
      return {
        run: () => b.copy(x, { offset: 0, strides: [128 * 128, 32, 128, 1] }, [8, 4, 128, 32]),
        done: () => b.free(x),
      };
    },
  });
  out.push({
    name: 'copy transpose 2-D [1024,1024]ᵀ',
    make: (b) => {
      const x = store(b, values(n, 8));
      return { run: () => b.copy(x, { offset: 0, strides: [1, C] }, [R, C]), done: () => b.free(x) };
    },
  });
  for (const [rname, axes] of [['rows (last axis)', [1]], ['columns (axis 0)', [0]], ['all', [0, 1]]] as [string, number[]][]) {
    out.push({
      name: `reduce sum ${rname} [${R},${C}]`,
      make: (b) => {
        const x = store(b, values(n, 9));
        return { run: () => b.reduce('sum', x, [R, C], axes), done: () => b.free(x) };
      },
    });
  }
  out.push({
    name: `reduce max rows [${R},${C}]`,
    make: (b) => {
      const x = store(b, values(n, 10));
      return { run: () => b.reduce('max', x, [R, C], [1]), done: () => b.free(x) };
    },
  });
  const mm: [number, number, number, boolean, boolean][] = [
    [512, 512, 512, false, false],
    [1024, 64, 1024, false, false],
    [1024, 64, 1024, false, true],
    [1024, 1024, 64, false, false],
    [1024, 1024, 64, false, true],
    [64, 1024, 64, true, false],
    [64, 1024, 1024, true, false],
    [1024, 64, 192, false, false],
    [64, 1024, 192, true, false],
  ];
  for (const [M, K, N, transA, transB] of mm) {
    out.push({
      name: `matmul ${M}x${K}x${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`,
      flops: 2 * M * N * K,
      make: (b) => {
        const a = store(b, values(M * K, 11));
        const bb = store(b, values(K * N, 12));
        const spec: MatmulSpec = { batch: [], aBatchStrides: [], bBatchStrides: [], M, K, N, transA, transB };
        return {
          run: () => b.matmul(a, bb, spec),
          done: () => {
            b.free(a);
            b.free(bb);
          },
        };
      },
    });
  }
  // tiny GPT-2 step shapes: activations [8, 128, ·] times broadcast weights, weight gradients
  const mmBatched: [number, number, number, boolean, boolean, boolean][] = [
    [128, 1024, 64, false, false, true],
    [128, 64, 1024, false, true, true],
    [1024, 128, 64, true, false, false],
    [64, 128, 256, true, false, false],
  ];
  for (const [M, K, N, transA, transB, bBroadcast] of mmBatched) {
    out.push({
      name: `matmul [8] ${M}x${K}x${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}${bBroadcast ? ' b bcast' : ''}`,
      flops: 2 * 8 * M * N * K,
      make: (b) => {
        const a = store(b, values(8 * M * K, 11));
        const bb = store(b, values((bBroadcast ? 1 : 8) * K * N, 12));
        const spec: MatmulSpec = {
          batch: [8], aBatchStrides: [M * K], bBatchStrides: [bBroadcast ? 0 : K * N], M, K, N, transA, transB,
        };
        return { run: () => b.matmul(a, bb, spec), done: () => [a, bb].forEach((s) => b.free(s)) };
      },
    });
  }
  out.push({
    name: 'matmul batched [32] 128x32x128 Bᵀ',
    flops: 2 * 32 * 128 * 128 * 32,
    make: (b) => {
      const a = store(b, values(32 * 128 * 32, 13));
      const bb = store(b, values(32 * 128 * 32, 14));
      const spec: MatmulSpec = {
        batch: [32], aBatchStrides: [128 * 32], bBatchStrides: [128 * 32], M: 128, K: 32, N: 128, transA: false, transB: true,
      };
      return { run: () => b.matmul(a, bb, spec), done: () => [a, bb].forEach((s) => b.free(s)) };
    },
  });
  out.push({
    name: `softmax [${R},${C}]`,
    make: (b) => {
      const x = store(b, values(n, 15));
      return { run: () => b.softmax(x, R, C), done: () => b.free(x) };
    },
  });
  out.push({
    name: `crossEntropy [${R},${C}]`,
    make: (b) => {
      const x = store(b, values(n, 16));
      const l = b.fromArray(Int32Array.from({ length: R }, (_, i) => (i * 37) % C), 'int32');
      return { run: () => b.crossEntropy(x, l, R, C, -100), done: () => [x, l].forEach((s) => b.free(s)) };
    },
  });
  out.push({
    name: 'layerNorm [1024,64]',
    make: (b) => {
      const x = store(b, values(1024 * 64, 17));
      const w = store(b, values(64, 18));
      const bias = store(b, values(64, 19));
      return { run: () => b.layerNorm(x, w, bias, 1024, 64, 1e-5), done: () => [x, w, bias].forEach((s) => b.free(s)) };
    },
  });
  out.push({
    name: 'attention causal [8,4,128,16]',
    make: (b) => {
      const size = 8 * 4 * 128 * 16;
      const q = store(b, values(size, 20));
      const k = store(b, values(size, 21));
      const v = store(b, values(size, 22));
      const spec = { B: 8, H: 4, T: 128, D: 16, scale: 0.25, causal: true, window: 0 };
      return { run: () => b.attention(q, k, v, null, spec), done: () => [q, k, v].forEach((s) => b.free(s)) };
    },
  });
  return out;
}

/**
 * Run every unary and binary op once on small float32 and float64 inputs, so each backend is timed
 * in the state of a training process (where many ops have run) rather than fresh after one op.
 */
function warmAllOps(b: Backend): void {
  const unaryOps: UnaryOp[] = [
    'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'sign', 'tanh', 'sigmoid', 'relu', 'step', 'erf', 'gelu_tanh',
    'gelu_erf', 'softplus', 'pow_scalar', 'add_scalar', 'mul_scalar',
  ];
  const binaryOps: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
  for (const dt of ['float32', 'float64'] as DType[]) {
    const xs = values(64, 99);
    const x = b.fromArray(dt === 'float32' ? Float32Array.from(xs) : xs, dt);
    for (const op of unaryOps) b.free(b.unary(op, x, 2, 20));
    const v = contiguous([8, 8]);
    for (const op of binaryOps) {
      b.free(b.binary(op, x, v, x, v, [8, 8]));
      b.free(b.binary(op, x, v, x, { offset: 0, strides: [0, 1] }, [8, 8]));
    }
    b.free(x);
  }
}

/** Time every case (optionally those whose name contains `filter`) on each labelled backend. */
export function benchCpuKernels(
  backends: Record<string, Backend>,
  opts: { dtype?: DType; filter?: string; repeat?: number; log?: (line: string) => void } = {},
): CpuKernelResult[] {
  const log = opts.log ?? ((line: string) => console.log(line));
  const labels = Object.keys(backends);
  for (const label of labels) warmAllOps(backends[label]);
  const results: CpuKernelResult[] = [];
  for (const c of cases(opts.dtype ?? 'float32')) {
    if (opts.filter && !c.name.includes(opts.filter)) continue;
    const ms: Record<string, number> = {};
    for (const label of labels) {
      const b = backends[label];
      const { run, done } = c.make(b);
      ms[label] = best(b, run, opts.repeat ?? 7);
      done();
    }
    results.push({ case: c.name, ms, flops: c.flops });
    const cols = labels.map((l) => {
      const rate = c.flops ? ` (${(c.flops / ms[l] / 1e6).toFixed(2)} GFLOP/s)` : '';
      return `${l} ${ms[l].toFixed(2).padStart(8)} ms${rate}`;
    });
    const speedup = labels.length > 1 ? `  ×${(ms[labels[1]] / ms[labels[0]]).toFixed(1)}` : '';
    log(`${c.name.padEnd(42)} ${cols.join('   ')}${speedup}`);
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const dtype: DType = args.includes('float64') ? 'float64' : 'float32';
  const filter = args.find((a) => a !== 'float64' && a !== 'float32');
  benchCpuKernels({ cpu: new CpuBackend() }, { dtype, filter });
}
