// The fast float32 kernels other than matmul against the reference loops: softmax and
// cross-entropy (forward and backward) with WebAssembly SIMD exponentials at odd row lengths
// (padding lanes), NaN / ±inf / all-masked rows and ignored labels; the generated elementwise
// loops (exactly equal: same float64 expressions, one rounding).

import { describe, expect, it } from 'vitest';
import type { BinaryOp, Storage, UnaryOp } from '../../engine/backend.js';
import { CpuBackend, cpuData } from '../../engine/cpu/index.js';
import { FastCpuBackend } from '../../engine/cpu-fast/index.js';
import { heapAddr, setResident, wasmHeap } from '../../engine/cpu-fast/wasm-heap.js';

const ref = new CpuBackend();
const fast = new FastCpuBackend();

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function logits(R: number, C: number, seed: number, spread = 8): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: R * C }, () => (r() - 0.5) * spread);
}

/** |got − want| ≤ rel·|want| + abs, element by element (NaN must match NaN). */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rel: number, abs: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w) ? Number.isNaN(g) : g === w || Math.abs(g - w) <= rel * Math.abs(w) + abs) continue;
    throw new Error(`${what}: element ${i} is ${g}, reference ${w}`);
  }
}

const f32 = (be: CpuBackend, a: ArrayLike<number>): Storage => be.fromArray(Float32Array.from(a), 'float32');

describe('cpu-fast row kernels', () => {
  const shapes: [number, number][] = [[1, 2048], [3, 1027], [64, 33], [700, 5], [17, 768], [2, 4097]];

  it('softmax matches the reference at odd row lengths', () => {
    shapes.forEach(([R, C], i) => {
      const X = logits(R, C, 1 + i);
      expectClose(cpuData(fast.softmax(f32(fast, X), R, C)), cpuData(ref.softmax(f32(ref, X), R, C)), 4e-6, 1e-12, `softmax [${R}, ${C}]`);
    });
  });

  it('softmax keeps the reference results for rows with NaN, +inf, -inf and all -inf', () => {
    const [R, C] = [6, 1031];
    const X = logits(R, C, 9);
    X[5] = NaN; // row 0
    X[C + 7] = Infinity; // row 1
    X.fill(-Infinity, 2 * C, 3 * C); // row 2 all masked
    X.fill(-Infinity, 3 * C, 3 * C + 1000); // row 3 mostly masked
    X[4 * C + 3] = -Infinity;
    expectClose(cpuData(fast.softmax(f32(fast, X), R, C)), cpuData(ref.softmax(f32(ref, X), R, C)), 4e-6, 1e-12, 'softmax special rows');
  });

  it('crossEntropy and its backward match the reference, ignored rows included', () => {
    for (const [i, [R, V]] of shapes.entries()) {
      const X = logits(R, V, 20 + i, 12);
      const r = rng(40 + i);
      const labels = Int32Array.from({ length: R }, (_, k) => (k % 5 === 3 ? -100 : Math.floor(r() * V)));
      const G = Float32Array.from({ length: R }, () => r() * 2 - 0.5);
      const lf = fast.fromArray(labels, 'int32');
      const lr = ref.fromArray(labels, 'int32');
      expectClose(cpuData(fast.crossEntropy(f32(fast, X), lf, R, V, -100)), cpuData(ref.crossEntropy(f32(ref, X), lr, R, V, -100)), 2e-6, 2e-6, `crossEntropy [${R}, ${V}]`);
      const got = cpuData(fast.crossEntropyBackward(f32(fast, X), lf, f32(fast, G), R, V, -100));
      const want = cpuData(ref.crossEntropyBackward(f32(ref, X), lr, f32(ref, G), R, V, -100));
      expectClose(got, want, 4e-6, 2e-7, `crossEntropyBackward [${R}, ${V}]`);
      for (let k = 0; k < R; k++) if (labels[k] === -100) expect(got.subarray(k * V, (k + 1) * V).every((v) => v === 0)).toBe(true);
    }
  });

  it('crossEntropy rejects out-of-range labels like the reference', () => {
    const X = f32(fast, logits(2, 2048, 3));
    const bad = fast.fromArray(Int32Array.from([1, 2048]), 'int32');
    expect(() => fast.crossEntropy(X, bad, 2, 2048, -100)).toThrow(/label 2048 at row 1 is outside \[0, 2048\)/);
    expect(() => fast.crossEntropyBackward(X, bad, f32(fast, [1, 1]), 2, 2048, -100)).toThrow(/label 2048 at row 1/);
  });
});

describe('cpu-fast attention', () => {
  const cases = [
    { B: 2, H: 3, T: 37, D: 5, scale: 0.4, causal: true, window: 0, mask: true },
    { B: 1, H: 2, T: 64, D: 16, scale: 0.25, causal: true, window: 7, mask: false },
    { B: 3, H: 1, T: 33, D: 9, scale: 1, causal: false, window: 0, mask: true },
    // T a multiple of 4: masks, scale and softmax in one WebAssembly pass
    { B: 2, H: 3, T: 36, D: 7, scale: 0.3, causal: true, window: 0, mask: true },
    { B: 2, H: 2, T: 48, D: 8, scale: 0.5, causal: false, window: 0, mask: true },
    { B: 1, H: 3, T: 40, D: 6, scale: 0.7, causal: false, window: 5, mask: false },
    { B: 2, H: 1, T: 32, D: 4, scale: 0.2, causal: true, window: 9, mask: true },
  ];
  for (const c of cases) {
    it(`matches the reference (T ${c.T}, D ${c.D}, causal ${c.causal}, window ${c.window}, key mask ${c.mask})`, () => {
      const n = c.B * c.H * c.T * c.D;
      const [Q, K, V] = [1, 2, 3].map((s) => logits(1, n, 100 + s, 3));
      // batch row 0: first keys masked (queries before the first visible key see nothing)
      const M = Float32Array.from({ length: c.B * c.T }, (_, i) => (i % c.T < 3 || i % 11 === 5 ? 0 : 1));
      const run = (be: CpuBackend) =>
        cpuData(be.attention(f32(be, Q!), f32(be, K!), f32(be, V!), c.mask ? f32(be, M) : null, { B: c.B, H: c.H, T: c.T, D: c.D, scale: c.scale, causal: c.causal, window: c.window }));
      const got = run(fast);
      const want = run(ref);
      expectClose(got, want, 1e-5, 2e-6, 'attention');
      if (c.mask && c.causal) expect(Array.from(got.subarray(0, 3 * c.D)).every((x) => x === 0)).toBe(true);
    });
  }
});

describe('cpu-fast maskedSoftmax', () => {
  /** Softmax in float64 over the visible keys of each row of scores [B, H, T, T]. */
  function expected(S: Float32Array, Mk: ArrayLike<number> | null, B: number, H: number, T: number, scale: number, causal: boolean, window: number): Float64Array {
    const P = new Float64Array(S.length);
    for (let b = 0; b < B; b++) for (let hh = 0; hh < H; hh++) for (let i = 0; i < T; i++) {
      const o = ((b * H + hh) * T + i) * T;
      const vis = (j: number) => j <= (causal ? i : T) && (window === 0 || i - j < window) && (!Mk || Mk[b * T + j] !== 0) && j < T;
      let m = -Infinity;
      for (let j = 0; j < T; j++) if (vis(j)) m = Math.max(m, S[o + j]! * scale);
      if (m === -Infinity) continue;
      let sum = 0;
      for (let j = 0; j < T; j++) if (vis(j)) sum += Math.exp(S[o + j]! * scale - m);
      for (let j = 0; j < T; j++) if (vis(j)) P[o + j] = Math.exp(S[o + j]! * scale - m) / sum;
    }
    return P;
  }
  const cases = [
    { B: 2, H: 3, T: 36, scale: 0.3, causal: true, window: 0, mask: 'float32' },
    { B: 3, H: 2, T: 40, scale: 1.5, causal: false, window: 6, mask: 'int32' },
    { B: 1, H: 4, T: 64, scale: 0.125, causal: true, window: 11, mask: null },
    { B: 2, H: 2, T: 33, scale: 0.7, causal: true, window: 0, mask: 'int32' }, // T not a multiple of 4
  ] as const;
  for (const c of cases) {
    it(`matches float64 softmax over the visible keys (T ${c.T}, causal ${c.causal}, window ${c.window}, key mask ${c.mask})`, () => {
      const n = c.B * c.H * c.T * c.T;
      const S = logits(1, n, 200 + c.T, 6);
      const Mk = Int32Array.from({ length: c.B * c.T }, (_, i) => (i % c.T < 2 || i % 7 === 3 ? 0 : 1));
      const km = c.mask === null ? null : fast.fromArray(c.mask === 'int32' ? Mk : Float32Array.from(Mk), c.mask);
      const scores = f32(fast, S);
      const got = cpuData(fast.maskedSoftmax(scores, km, { B: c.B, H: c.H, T: c.T, D: 0, scale: c.scale, causal: c.causal, window: c.window }));
      expectClose(got, expected(S, c.mask === null ? null : Mk, c.B, c.H, c.T, c.scale, c.causal, c.window), 2e-6, 1e-9, 'maskedSoftmax');
      expect(cpuData(scores)).toEqual(S); // the scores are not modified
    });
  }
});

describe('cpu-fast gelu_tanh (WebAssembly SIMD)', () => {
  it('matches the reference within float32 rounding, special values included', () => {
    const r = rng(8);
    const X = Float32Array.from({ length: 4099 }, (_, i) => (i < 8 ? [NaN, Infinity, -Infinity, 0, -0, 1e20, -1e20, -9.5][i]! : (r() - 0.5) * 24));
    const got = cpuData(fast.unary('gelu_tanh', f32(fast, X)));
    const want = cpuData(ref.unary('gelu_tanh', f32(ref, X)));
    expectClose(got, want, 3e-6, 1e-12, 'gelu_tanh'); // for x ≪ 0 the reference's 1 + tanh cancels to 0
  });

  it("its backward and the backward's vjp match the reference (float32 tanh: absolute error ~1e-7 where 1 + tanh cancels)", () => {
    const r = rng(28);
    for (const n of [4099, 257, 300]) {
      const X = Float32Array.from({ length: n }, (_, i) => (i < 6 ? [0, -0, 1e-20, -9.5, 9.5, -30][i]! : (r() - 0.5) * 16));
      const G = Float32Array.from({ length: n }, () => (r() - 0.5) * 4);
      const U = Float32Array.from({ length: n }, () => (r() - 0.5) * 4);
      const dx = cpuData(fast.geluBackward!('gelu_tanh', f32(fast, X), f32(fast, G)));
      expectClose(dx, cpuData(ref.geluBackward!('gelu_tanh', f32(ref, X), f32(ref, G))), 1e-5, 1e-6, `geluBackward n ${n}`);
      const [xb, gb] = fast.geluGradBackward!('gelu_tanh', f32(fast, X), f32(fast, G), f32(fast, U));
      const [xr, gr] = ref.geluGradBackward!('gelu_tanh', f32(ref, X), f32(ref, G), f32(ref, U));
      expectClose(cpuData(xb), cpuData(xr), 1e-5, 2e-6, `geluGradBackward x̄ n ${n}`);
      expectClose(cpuData(gb), cpuData(gr), 1e-5, 1e-6, `geluGradBackward ḡ n ${n}`);
    }
    // gelu_erf and small inputs run the reference loop: equal
    const X = Float32Array.from({ length: 100 }, () => (r() - 0.5) * 8);
    const G = Float32Array.from({ length: 100 }, () => r());
    expect(Array.from(cpuData(fast.geluBackward!('gelu_erf', f32(fast, X), f32(fast, G))))).toEqual(Array.from(cpuData(ref.geluBackward!('gelu_erf', f32(ref, X), f32(ref, G)))));
  });
});

describe('cpu-fast tanh, softmax backward, layerNorm and sums (WebAssembly SIMD)', () => {
  it('tanh matches the reference within float32 rounding, special values and the polynomial range included', () => {
    const r = rng(18);
    const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-7, 0.6249, 0.625, -0.6251, 9, -9.1, 40, 1e20];
    const X = Float32Array.from({ length: 4103 }, (_, i) => specials[i] ?? (i % 3 === 0 ? (r() - 0.5) * 1.4 : (r() - 0.5) * 20));
    const got = cpuData(fast.unary('tanh', f32(fast, X)));
    const want = cpuData(ref.unary('tanh', f32(ref, X)));
    expectClose(got, want, 5e-7, 1e-30, 'tanh');
    for (let i = 0; i < 5; i++) expect(Object.is(got[i], want[i]), `tanh(${X[i]})`).toBe(true);
  });

  it('exp matches the reference within float32 rounding, the overflow edge and special values included', () => {
    const r = rng(19);
    const specials = [NaN, Infinity, -Infinity, 0, -0, 88.72, 88.7229, 89, -87.3, -87.4, -88, -104, -1e-7, 1e-30];
    const X = Float32Array.from({ length: 4101 }, (_, i) => specials[i] ?? (r() - 0.5) * 60);
    const got = cpuData(fast.unary('exp', f32(fast, X)));
    const want = cpuData(ref.unary('exp', f32(ref, X)));
    expectClose(got, want, 5e-7, 1e-37, 'exp');
    for (const i of [0, 1, 2, 7, 11]) expect(Object.is(got[i], want[i]), `exp(${X[i]})`).toBe(true);
  });

  it('logSoftmax matches the reference (special rows included)', () => {
    for (const [R, C] of [[3, 1028], [700, 8], [17, 768]] as [number, number][]) {
      const X = logits(R, C, R + C, 12);
      X[3] = NaN;
      X.fill(-Infinity, C, 2 * C);
      X[2 * C + 1] = Infinity;
      const got = cpuData(fast.logSoftmax(f32(fast, X), R, C));
      const want = cpuData(ref.logSoftmax(f32(ref, X), R, C));
      expectClose(got, want, 1e-6, 2e-6, `logSoftmax [${R}, ${C}]`);
    }
  });

  it('adamStep equals the reference exactly (AdamW with a gradient scale, plain Adam, odd length)', () => {
    for (const [n, wd, withScale] of [[4099, 0.01, true], [3001, 0, false]] as [number, number, boolean][]) {
      const init = [logits(1, n, 130, 2), logits(1, n, 131, 1), logits(1, n, 132, 0.1), Float32Array.from(logits(1, n, 133, 0.01), Math.abs)];
      const run = (be: CpuBackend) => {
        const [p, g, m, v] = init.map((a) => f32(be, a!));
        const gs = withScale ? f32(be, [0.37]) : null;
        for (let step = 1; step <= 3; step++) be.adamStep(p!, g!, m!, v!, gs, { lr: 3e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: wd, step });
        return [p!, m!, v!].map((s) => Float32Array.from(cpuData(s)));
      };
      const got = run(fast);
      const want = run(ref);
      got.forEach((a, k) => expect(a, `adam n ${n} array ${k}`).toEqual(want[k]));
    }
  });

  it('softmaxBackward and layerNorm match the reference at odd row lengths', () => {
    const shapes: [number, number][] = [[1, 2048], [3, 1027], [64, 33], [700, 5], [17, 768], [5, 4099]];
    shapes.forEach(([R, C], i) => {
      const Y = cpuData(ref.softmax(f32(ref, logits(R, C, 50 + i)), R, C));
      const G = logits(R, C, 60 + i, 2);
      const sb = (be: CpuBackend) => cpuData(be.softmaxBackward(f32(be, Y), f32(be, G), R, C));
      expectClose(sb(fast), sb(ref), 1e-6, 1e-9, `softmaxBackward [${R}, ${C}]`);
      const X = logits(R, C, 70 + i, 6);
      const W = logits(1, C, 80 + i, 2);
      const B = logits(1, C, 90 + i, 2);
      const ln = (be: CpuBackend) => cpuData(be.layerNorm(f32(be, X), f32(be, W), f32(be, B), R, C, 1e-5));
      expectClose(ln(fast), ln(ref), 1e-6, 1e-7, `layerNorm [${R}, ${C}]`);
    });
  });

  it('sum over the last axes and over leading axes matches the reference (leading axes exactly)', () => {
    const cases: [number[], number[]][] = [
      [[7, 129, 65], [2]], [[9, 1000], [1]], [[4099], [0]], [[3, 5, 37, 23], [2, 3]],
      [[130, 67], [0]], [[8, 127, 768], [0, 1]], [[5, 61, 19], [1]], [[2, 33, 1, 21], [0, 1]], [[1031, 3], [0]],
    ];
    cases.forEach(([shape, axes], i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const X = logits(1, n, 100 + i, 4);
      const got = cpuData(fast.reduce('sum', f32(fast, X), shape, axes));
      const want = cpuData(ref.reduce('sum', f32(ref, X), shape, axes));
      if (axes[axes.length - 1] !== shape.length - 1) expect(got, `sum ${JSON.stringify(shape)} over ${axes}`).toEqual(want);
      else expectClose(got, want, 2e-7, 1e-6, `sum ${JSON.stringify(shape)} over ${axes}`);
    });
  });
});

describe('cpu-fast strided copies in WebAssembly', () => {
  it('copy and copyInto equal the reference exactly over permuted, strided, broadcast and offset views', () => {
    const X = logits(1, 3 * 5 * 37 * 23 * 2, 120, 10);
    X[7] = NaN;
    X[8] = -0;
    const cases: { shape: number[]; view: { offset: number; strides: number[] } }[] = [
      { shape: [3, 37, 5, 23], view: { offset: 0, strides: [5 * 37 * 23, 23, 37 * 23, 1] } }, // heads split
      { shape: [23, 5, 37], view: { offset: 11, strides: [1, 37 * 23, 23] } }, // transposed, offset
      { shape: [3, 5, 37, 11], view: { offset: 1, strides: [5 * 37 * 23, 37 * 23, 23, 2] } }, // every other
      { shape: [4, 3, 5, 37, 23], view: { offset: 0, strides: [0, 5 * 37 * 23, 37 * 23, 23, 1] } }, // broadcast + 4 dims
      { shape: [2, 3, 2, 5, 2, 37], view: { offset: 0, strides: [1, 5 * 37 * 23 * 2, 1, 37 * 23 * 2, 1, 46] } }, // > 4 dims: reference
    ];
    for (const { shape, view } of cases) {
      const got = cpuData(fast.copy(f32(fast, X), view, shape));
      const want = cpuData(ref.copy(f32(ref, X), view, shape));
      for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) throw new Error(`copy ${JSON.stringify(shape)}: element ${i} is ${got[i]}, reference ${want[i]}`);
    }
    // copyInto a strided window of a resident destination
    const into = (be: CpuBackend) => {
      const dst = f32(be, logits(1, 60 * 130, 121));
      be.copyInto(dst, { offset: 3, strides: [130, 2] }, f32(be, X), { offset: 5, strides: [1, 57] }, [57, 64]);
      return cpuData(dst);
    };
    expect(into(fast)).toEqual(into(ref));
  });
});

describe('cpu-fast binary ops in WebAssembly', () => {
  it('equal the reference exactly for full, row- and column-broadcast layouts on either side', () => {
    const [R, L] = [67, 45];
    const A = logits(R, L, 11);
    const B = logits(R, L, 12);
    // special values on both sides, ±0 included
    [NaN, Infinity, -Infinity, 0, -0].forEach((v, i) => {
      A[i * 7] = v;
      B[i * 7 + 1] = v;
      B[i] = v;
    });
    A[3] = -0;
    B[3] = 0;
    const full = { offset: 0, strides: [L, 1] };
    const layouts = [
      { name: 'full full', av: full, bv: full },
      { name: 'full row', av: full, bv: { offset: 5, strides: [0, 1] } },
      { name: 'full column', av: full, bv: { offset: 2, strides: [1, 0] } },
      { name: 'full scalar', av: full, bv: { offset: 3, strides: [0, 0] } },
      { name: 'row full', av: { offset: 1, strides: [0, 1] }, bv: full },
      { name: 'column full', av: { offset: 9, strides: [1, 0] }, bv: full },
      { name: 'offset full', av: { offset: 40, strides: [L, 1] }, bv: { offset: 0, strides: [L, 1] }, shape: [R - 1, L] },
    ];
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as BinaryOp[]) {
      for (const { name, av, bv, shape } of layouts) {
        const sh = shape ?? [R, L];
        const got = cpuData(fast.binary(op, f32(fast, A), av, f32(fast, B), bv, sh));
        const want = cpuData(ref.binary(op, f32(ref, A), av, f32(ref, B), bv, sh));
        for (let i = 0; i < want.length; i++) {
          if (!Object.is(got[i], want[i])) throw new Error(`${op} ${name}: element ${i} is ${got[i]}, reference ${want[i]}`);
        }
      }
    }
  });
});

describe('cpu-fast binary ops in WebAssembly over more than two dims', () => {
  it('equal the reference exactly for broadcasts over outer dims (an attention mask over heads, a bias per head)', () => {
    const [B, H, T, S] = [3, 5, 17, 19];
    const A = logits(1, B * H * T * S, 13);
    const M = logits(1, B * T * S, 14);
    const C = logits(1, H * S, 15);
    const full4 = { offset: 0, strides: [H * T * S, T * S, S, 1] };
    const cases = [
      { name: 'mask over heads', av: full4, b: M, bv: { offset: 0, strides: [T * S, 0, S, 1] } },
      { name: 'bias per head', av: full4, b: C, bv: { offset: 0, strides: [0, S, 0, 1] } },
      { name: 'broadcast first', av: { offset: 0, strides: [T * S, 0, S, 1] }, b: A, bv: full4, a: M },
      { name: 'column per batch', av: full4, b: M, bv: { offset: 2, strides: [T * S, 0, 1, 0] } },
    ];
    for (const op of ['add', 'mul', 'sub', 'maximum'] as BinaryOp[]) {
      for (const c of cases) {
        const a = c.a ?? A;
        const got = cpuData(fast.binary(op, f32(fast, a), c.av, f32(fast, c.b), c.bv, [B, H, T, S]));
        const want = cpuData(ref.binary(op, f32(ref, a), c.av, f32(ref, c.b), c.bv, [B, H, T, S]));
        for (let i = 0; i < want.length; i++) {
          if (!Object.is(got[i], want[i])) throw new Error(`${op} ${c.name}: element ${i} is ${got[i]}, reference ${want[i]}`);
        }
      }
    }
  });
});

describe('cpu-fast resident arrays', () => {
  it('float32 storages live in the wasm memory, kernels give the same results with them off, and freed arrays come back', () => {
    const X = logits(129, 64, 21);
    const run = () => {
      const x = f32(fast, X);
      const y = fast.unary('mul_scalar', x, 0.5);
      const z = fast.binary('add', x, { offset: 0, strides: [64, 1] }, y, { offset: 0, strides: [64, 1] }, [129, 64]);
      const p = fast.softmax(z, 129, 64);
      const m = fast.matmul(p, x, { batch: [], aBatchStrides: [], bBatchStrides: [], M: 129, K: 64, N: 64, transA: true, transB: false });
      const out = [cpuData(x), cpuData(y), cpuData(z), cpuData(p), cpuData(m)].map((a) => ({ resident: heapAddr(a as Float32Array) >= 0, values: Float32Array.from(a) }));
      for (const s of [x, y, z, p, m]) fast.free(s);
      return out;
    };
    const on = run();
    const prev = setResident(false);
    let off: ReturnType<typeof run>;
    try {
      off = run();
    } finally {
      setResident(prev);
    }
    expect(on.every((o) => o.resident)).toBe(wasmHeap()!.shared);
    expect(off.every((o) => !o.resident)).toBe(true);
    on.forEach((o, i) => expect(o.values, `output ${i}`).toEqual(off[i]!.values));
    // a freed resident array is handed out again for the same length, zero-filled
    const s1 = fast.full(3000, 'float32', 7);
    const arr = cpuData(s1);
    fast.free(s1);
    const s2 = fast.full(3000, 'float32', 0);
    expect(cpuData(s2)).toBe(arr);
    expect(cpuData(s2).every((v) => v === 0)).toBe(true);
    fast.free(s2);
  });
});

describe('cpu-fast dropout mask in WebAssembly', () => {
  it('equals the reference exactly (the shared counter hash)', () => {
    for (const [n, p, seed] of [[4099, 0.1, 7], [1024, 0.5, 0xfffffff0], [333, 0, 3], [2050, 0.999, 12345]] as [number, number, number][]) {
      expect(cpuData(fast.dropoutMask(n, p, seed, 'float32')), `n ${n} p ${p}`).toEqual(cpuData(ref.dropoutMask(n, p, seed, 'float32')));
    }
  });
});

describe('cpu-fast scalar unary ops in WebAssembly', () => {
  it('neg, mul_scalar and add_scalar equal the reference exactly (float64 parameters, special values)', () => {
    const X = Float32Array.from(logits(1, 4103, 31, 1e6), (v, i) => [NaN, Infinity, -Infinity, 0, -0, 3e38, -1e-45][i] ?? v);
    const cases: [UnaryOp, number?][] = [['neg'], ['mul_scalar', 1 / 0.95], ['mul_scalar', -1 / 3], ['mul_scalar', 1e300], ['add_scalar', 0.1], ['add_scalar', -1e-9], ['mul_scalar', 0]];
    for (const [op, p0] of cases) {
      const got = cpuData(fast.unary(op, f32(fast, X), p0));
      const want = cpuData(ref.unary(op, f32(ref, X), p0));
      for (let i = 0; i < want.length; i++) {
        if (!Object.is(got[i], want[i])) throw new Error(`${op} ${p0}: element ${i} (x = ${X[i]}) is ${got[i]}, reference ${want[i]}`);
      }
    }
  });
});

describe('cpu-fast elementwise', () => {
  const unaryOps: [UnaryOp, number?, number?][] = [
    ['neg'], ['exp'], ['log'], ['sqrt'], ['rsqrt'], ['abs'], ['sign'], ['tanh'], ['sigmoid'], ['relu'], ['step'], ['erf'],
    ['gelu_tanh'], ['gelu_erf'], ['softplus', 2, 10], ['pow_scalar', 1.5], ['add_scalar', 0.25], ['mul_scalar', -3],
  ];
  const X = Float32Array.from(logits(1, 201, 77), (v, i) => (i === 5 ? NaN : i === 6 ? Infinity : i === 7 ? -Infinity : i === 8 ? 0 : v));

  it('unary ops equal the reference exactly (below the WebAssembly size of 256 elements)', () => {
    for (const [op, p0, p1] of unaryOps) {
      expect(cpuData(fast.unary(op, f32(fast, X), p0, p1)), op).toEqual(cpuData(ref.unary(op, f32(ref, X), p0, p1)));
    }
  });

  it('binary ops and where equal the reference exactly over broadcast and transposed views', () => {
    const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
    const A = logits(7, 13, 5);
    const B = logits(1, 13, 6);
    const views = [
      { av: { offset: 0, strides: [13, 1] }, bv: { offset: 0, strides: [0, 1] }, shape: [7, 13] }, // row broadcast
      { av: { offset: 0, strides: [1, 7] }, bv: { offset: 0, strides: [1, 0] }, shape: [13, 7] }, // transposed a, column broadcast b
      { av: { offset: 4, strides: [] }, bv: { offset: 0, strides: [] }, shape: [] }, // scalars
    ];
    for (const op of ops) {
      for (const { av, bv, shape } of views) {
        const got = cpuData(fast.binary(op, f32(fast, A), av, f32(fast, B), bv, shape));
        expect(got, `${op} ${JSON.stringify(shape)}`).toEqual(cpuData(ref.binary(op, f32(ref, A), av, f32(ref, B), bv, shape)));
      }
    }
    const C = Float32Array.from(A, (v) => (v > 0 ? 1 : 0));
    const w = (be: CpuBackend) => cpuData(be.where(f32(be, C), { offset: 0, strides: [1, 7] }, f32(be, A), { offset: 0, strides: [13, 1] }, f32(be, B), { offset: 0, strides: [0, 1] }, [7, 13]));
    expect(w(fast)).toEqual(w(ref));
  });
});
