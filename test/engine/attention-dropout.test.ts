// Attention dropout inside the fused attention ops (issue 11 item 3): the fused kernels drop exactly
// the probabilities the composite (masked softmax, then E.dropout with the same seed) drops — the
// mask compared bit-for-bit, values and first- and second-order gradients to float tolerance — for
// the plain [B, H, T, D] op and the packed / rows head layouts, on cpu float64 (the reference loops),
// cpu float32 and webgpu (both kernel families); p = 0 is no dropout; bad rates are rejected.

import { afterAll, describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { HostRng } from '../../engine/random.js';
import type { KernelFamily, WebGPUBackend } from '../../engine/webgpu/index.js';
import { deviceUnderTest } from './webgpu-required.js';

const gpu = (await deviceUnderTest('webgpu')) as WebGPUBackend | null;
const savedFamily = gpu?.kernelFamily;
afterAll(() => {
  if (gpu && savedFamily) gpu.kernelFamily = savedFamily;
});

type Device = 'cpu' | 'webgpu';
type DT = 'float32' | 'float64';

function values(n: number, seed: number, scale = 1): number[] {
  const r = new HostRng(seed);
  return Array.from({ length: n }, () => scale * r.normal());
}

function relNorm(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

/** [B, T] key padding mask: the last sequence's first two keys are pads. */
function padMask(B: number, T: number): number[] {
  return Array.from({ length: B * T }, (_, i) => (i >= (B - 1) * T && i - (B - 1) * T < 2 ? 0 : 1));
}

interface Case {
  name: string;
  shape: [number, number, number, number]; // [B, H, T, D]
  causal: boolean;
  window: number;
  mask: boolean;
}

const cases: Case[] = [
  { name: 'causal, T a multiple of 4', shape: [2, 2, 8, 4], causal: true, window: 0, mask: false },
  { name: 'local window + key padding', shape: [2, 3, 9, 5], causal: true, window: 3, mask: true },
  { name: 'bidirectional + key padding, odd T', shape: [1, 2, 13, 3], causal: false, window: 0, mask: true },
];

/**
 * [out, dq, dk, dv, hvp q, hvp k, hvp v] of sum(f(q, k, v) · u): first order not recorded (the fused
 * backward where the backend has one), then a recorded backward and its gradient along r.
 */
async function run(f: (q: Tensor, k: Tensor, v: Tensor, m: Tensor | null) => Tensor, c: Case, device: Device, dtype: DT, inputs: [number[], number[], number[]], shapes: number[][] = [c.shape, c.shape, c.shape]): Promise<Float64Array[]> {
  return E.tidyAsync(async () => {
    const [q, k, v] = inputs.map((d, i) => E.tensor(d, shapes[i]!, { dtype, device, requiresGrad: true }));
    const m = c.mask ? E.tensor(padMask(c.shape[0], c.shape[2]), [c.shape[0], c.shape[2]], { dtype, device }) : null;
    const y = f(q!, k!, v!, m);
    const u = E.tensor(values(y.size, 99), y.shape, { dtype, device });
    const first = E.grad(E.sum(E.mul(y, u)), [q!, k!, v!], { retainGraph: true });
    const [dq] = E.grad(E.sum(E.mul(y, u)), [q!], { createGraph: true });
    const r = E.tensor(values(dq!.size, 98), dq!.shape, { dtype, device });
    const hvp = E.grad(E.sum(E.mul(dq!, r)), [q!, k!, v!]);
    return (await Promise.all([y, ...first, ...hvp].map((t) => t.data()))).map((a) => Float64Array.from(a));
  });
}

const DROP = { dropout: 0.3, seed: 4242 };

function optsOf(c: Case, m: Tensor | null, drop: { dropout?: number; seed?: number } = DROP) {
  return { causal: c.causal, window: c.window, keyMask: m, ...drop };
}

function inputsOf(c: Case, n = c.shape.reduce((a, b) => a * b, 1)): [number[], number[], number[]] {
  return [values(n, 1, 0.7), values(n, 2, 0.7), values(n, 3)];
}

/** Kept entries of E.dropout's mask over [B, H, T, T] under DROP (1 kept, 0 dropped). */
async function expectedKeep(B: number, H: number, T: number, device: Device, dtype: DT): Promise<Float64Array> {
  const m = E.tidy(() => E.dropout(E.ones([B, H, T, T], { dtype, device }), DROP.dropout, DROP.seed));
  const d = Float64Array.from(await m.data(), (x) => (x !== 0 ? 1 : 0));
  m.dispose();
  return d;
}

/** The visible (causal / window / key-mask) entries of [B, H, T, T]. */
function visible(c: Case, T: number): (b: number, i: number, j: number) => boolean {
  const mask = padMask(c.shape[0], T);
  return (b, i, j) => (!c.causal || j <= i) && (c.window === 0 || i - j < c.window) && (!c.mask || mask[b * T + j] !== 0);
}

/** With v = the identity (D = T), out[b, h, i, :] is row i of the dropped probabilities: its zeros are the mask. */
async function checkMaskBits(c: Case, device: Device, dtype: DT): Promise<void> {
  const [B, H, T] = c.shape;
  const q = values(B * H * T * T, 5, 0.3);
  const k = values(B * H * T * T, 6, 0.3);
  const eye = Array.from({ length: B * H * T * T }, (_, e) => (((e / T) | 0) % T === e % T ? 1 : 0));
  const got = await E.tidyAsync(async () => {
    const t = (d: number[]) => E.tensor(d, [B, H, T, T], { dtype, device });
    const m = c.mask ? E.tensor(padMask(B, T), [B, T], { dtype, device }) : null;
    return Float64Array.from(await E.attention(t(q), t(k), t(eye), optsOf(c, m)).data());
  });
  const keep = await expectedKeep(B, H, T, device, dtype);
  const vis = visible(c, T);
  let dropped = 0;
  let kept = 0;
  for (let e = 0; e < got.length; e++) {
    const j = e % T;
    const i = ((e / T) | 0) % T;
    const b = (e / (H * T * T)) | 0;
    const want = vis(b, i, j) ? keep[e]! : 0;
    expect(got[e] !== 0 ? 1 : 0, `${c.name} [${B}, ${H}, ${T}] element ${e}`).toBe(want);
    if (vis(b, i, j)) {
      if (keep[e]) kept++;
      else dropped++;
    }
  }
  expect(dropped, 'some visible probabilities dropped').toBeGreaterThan(0);
  expect(kept, 'most visible probabilities kept').toBeGreaterThan(dropped);
}

const fusedPlain = (c: Case, drop: { dropout: number; seed?: number } = DROP) => (q: Tensor, k: Tensor, v: Tensor, m: Tensor | null) => E.attention(q, k, v, optsOf(c, m, drop));
const compositePlain = (c: Case, drop: { dropout: number; seed?: number } = DROP) => (q: Tensor, k: Tensor, v: Tensor, m: Tensor | null) => E.attentionComposite(q, k, v, optsOf(c, m, drop));

/** The same case on rows [B, T, H·D] (attentionRows) and a packed projection [B, T, 3·H·D] (attentionPacked). */
function rowsShape(c: Case): number[] {
  const [B, H, T, D] = c.shape;
  return [B, T, H * D];
}
const fusedRows = (c: Case) => (q: Tensor, k: Tensor, v: Tensor, m: Tensor | null) => E.attentionRows(q, k, v, c.shape[1], optsOf(c, m));
/** [B, T, H·D] → [B, H, T, D] and back. */
const split = (x: Tensor, H: number) => E.permute(E.reshape(x, [x.shape[0]!, x.shape[1]!, H, x.shape[2]! / H]), [0, 2, 1, 3]);
const merge = (x: Tensor) => E.reshape(E.permute(x, [0, 2, 1, 3]), [x.shape[0]!, x.shape[2]!, x.shape[1]! * x.shape[3]!]);
/** The rows / packed reference: heads split, E.attentionComposite (probabilities, E.dropout), heads merged. */
const compositeRows = (c: Case) => (q: Tensor, k: Tensor, v: Tensor, m: Tensor | null) => {
  const H = c.shape[1];
  return merge(E.attentionComposite(split(q, H), split(k, H), split(v, H), optsOf(c, m)));
};
/** q | k | v concatenated into one packed projection [B, T, 3·H·D], then the packed op. */
const fusedPacked = (c: Case) => (q: Tensor, k: Tensor, v: Tensor, m: Tensor | null) => E.attentionPacked(E.concat([q, k, v], 2), c.shape[1], optsOf(c, m));

async function compareAll(fused: (q: Tensor, k: Tensor, v: Tensor, m: Tensor | null) => Tensor, composite: typeof fused, c: Case, device: Device, dtype: DT, tol: number, ref: Device = device, shapes?: number[][]) {
  const inputs = inputsOf(c);
  const refDtype: DT = ref === 'cpu' ? 'float64' : dtype;
  const want = await run(composite, c, ref, refDtype, inputs, shapes);
  const got = await run(fused, c, device, dtype, inputs, shapes);
  const names = ['out', 'dq', 'dk', 'dv', 'hvp q', 'hvp k', 'hvp v'];
  want.forEach((w, i) => expect(relNorm(got[i]!, w), `${c.name} ${device} ${dtype}: ${names[i]}`).toBeLessThan(tol));
  return got;
}

describe('attention dropout on cpu', () => {
  for (const c of cases) {
    it(`${c.name}: fused = composite (values, first order through the reference loop, second order), float64`, async () => {
      const got = await compareAll(fusedPlain(c), compositePlain(c), c, 'cpu', 'float64', 1e-10);
      const undropped = await run(compositePlain(c, { dropout: 0 }), c, 'cpu', 'float64', inputsOf(c));
      for (let i = 0; i < 4; i++) expect(relNorm(got[i]!, undropped[i]!), `${c.name}: dropout changes array ${i}`).toBeGreaterThan(1e-2);
    });
    it(`${c.name}: float32 fused = float64 composite`, async () => {
      await compareAll(fusedPlain(c), compositePlain(c), c, 'cpu', 'float32', 5e-5, 'cpu');
    });
    it(`${c.name}: the kept-probability mask is E.dropout's, bit for bit (float64 and float32)`, async () => {
      await checkMaskBits(c, 'cpu', 'float64');
      await checkMaskBits(c, 'cpu', 'float32');
    });
    it(`${c.name}: rows and packed layouts = their composites, float64`, async () => {
      const s = rowsShape(c);
      await compareAll(fusedRows(c), compositeRows(c), c, 'cpu', 'float64', 1e-10, 'cpu', [s, s, s]);
      await compareAll(fusedPacked(c), compositeRows(c), c, 'cpu', 'float64', 1e-10, 'cpu', [s, s, s]);
    });
  }

  it('p = 0 is exactly no dropout; rate and seed checked with the op named', async () => {
    const c = cases[1]!;
    const inputs = inputsOf(c);
    for (const dtype of ['float64', 'float32'] as const) {
      const zero = await run(fusedPlain(c, { dropout: 0, seed: 7 }), c, 'cpu', dtype, inputs);
      const none = await run((q, k, v, m) => E.attention(q, k, v, { causal: c.causal, window: c.window, keyMask: m }), c, 'cpu', dtype, inputs);
      zero.forEach((z, i) => expect(Array.from(z)).toEqual(Array.from(none[i]!)));
    }
    const q = E.zeros([1, 1, 3, 2]);
    expect(() => E.attention(q, q, q, { dropout: 1 })).toThrow(/attention: .*p must be in \[0, 1\), got 1/);
    expect(() => E.attention(q, q, q, { dropout: -0.1 })).toThrow(/attention: .*\[0, 1\)/);
    expect(() => E.attention(q, q, q, { dropout: 0.1, seed: 1.5 })).toThrow(/attention: dropout seed must be an integer, got 1.5/);
    const x = E.zeros([1, 3, 6]);
    expect(() => E.attentionPacked(x, 1, { dropout: 2 })).toThrow(/attentionPacked: .*\[0, 1\)/);
    const r = E.reshape(q, [1, 3, 2]);
    expect(() => E.attentionRows(r, r, r, 1, { dropout: Number.NaN })).toThrow(/attentionRows: .*\[0, 1\)/);
    q.dispose();
    x.dispose();
  });
});

const families: KernelFamily[] = ['gpu', 'software'];

/** Calls of backend method `name` while fn runs. */
async function countCalls<T>(name: string, fn: () => Promise<T>): Promise<[T, number]> {
  const target = gpu as unknown as Record<string, (...a: unknown[]) => unknown>;
  const original = target[name]!;
  let calls = 0;
  target[name] = (...a: unknown[]) => {
    calls++;
    return original.apply(gpu, a);
  };
  try {
    return [await fn(), calls];
  } finally {
    delete target[name];
  }
}

/**
 * The fused first-order backward `name` is tried once by fn (the first-order pass; the recorded one
 * composes). The software family runs no packed / rows kernels (their composite calls attention).
 */
async function fusedBackwardRuns(name: string, family: KernelFamily, fn: () => Promise<unknown>): Promise<void> {
  const [, calls] = await countCalls(name, fn);
  expect(calls, `${name} tried by the first-order pass`).toBe(family === 'gpu' || name === 'attentionBackward' ? 1 : 0);
}

describe.skipIf(!gpu)('attention dropout on webgpu', () => {
  for (const family of families) {
    it(`(${family} kernels) plain op: fused = cpu float64 composite, mask bit for bit, p = 0 = none`, async () => {
      gpu!.kernelFamily = family;
      for (const c of cases) {
        await fusedBackwardRuns('attentionBackward', family, () => compareAll(fusedPlain(c), compositePlain(c), c, 'webgpu', 'float32', 5e-5, 'cpu'));
        await checkMaskBits(c, 'webgpu', 'float32');
        const inputs = inputsOf(c);
        const zero = await run(fusedPlain(c, { dropout: 0, seed: 3 }), c, 'webgpu', 'float32', inputs);
        const none = await run((q, k, v, m) => E.attention(q, k, v, { causal: c.causal, window: c.window, keyMask: m }), c, 'webgpu', 'float32', inputs);
        zero.forEach((z, i) => expect(Array.from(z)).toEqual(Array.from(none[i]!)));
      }
    });

    it(`(${family} kernels) rows and packed layouts: fused = cpu float64 composite (GPT-2's head dim too)`, async () => {
      gpu!.kernelFamily = family;
      for (const c of [...cases, { name: 'GPT-2 head dim 64', shape: [1, 2, 40, 64], causal: true, window: 0, mask: true } as Case]) {
        const s = rowsShape(c);
        await fusedBackwardRuns('attentionRowsBackward', family, () => compareAll(fusedRows(c), compositeRows(c), c, 'webgpu', 'float32', 5e-5, 'cpu', [s, s, s]));
        await fusedBackwardRuns('attentionPackedBackward', family, () => compareAll(fusedPacked(c), compositeRows(c), c, 'webgpu', 'float32', 5e-5, 'cpu', [s, s, s]));
      }
    });
  }

  it('(gpu kernels) a block of sequences at a time: the mask follows the global index', async () => {
    gpu!.kernelFamily = 'gpu';
    const c: Case = { name: 'windowed batches', shape: [5, 2, 32, 4], causal: true, window: 0, mask: true };
    const rt = gpu!.rt;
    const saved = rt.maxBindingBytes;
    const [B, H, T, D] = c.shape;
    const inputs = inputsOf(c);
    const [q, k, v] = inputs.map((d) => E.tensor(d, [B, H, T, D], { device: 'webgpu' }));
    const m = E.tensor(padMask(B, T), [B, T], { device: 'webgpu' });
    let y: Tensor;
    try {
      rt.maxBindingBytes = 2560; // q, k, v [5, 2, 32, 4] go two sequences (512 elements) a block
      y = fusedPlain(c)(q!, k!, v!, m);
    } finally {
      rt.maxBindingBytes = saved;
    }
    const got = Float64Array.from(await y.data());
    [q, k, v, m, y].forEach((t) => t!.dispose());
    const want = await run(compositePlain(c), c, 'cpu', 'float64', inputs);
    expect(relNorm(got, want[0]!)).toBeLessThan(5e-5);
  });

  it('forward, backward and a recorded (second-order) backward with dropout upload nothing from the host (both families)', async () => {
    for (const family of families) {
      gpu!.kernelFamily = family;
      const [q, k, v] = [0, 1, 2].map((i) => E.tensor(values(2 * 9 * 8, i), [2, 9, 8], { device: 'webgpu', requiresGrad: true }));
      const keyMask = E.tensor([1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1], [2, 9], { device: 'webgpu' });
      const target = gpu as unknown as Record<string, (...a: unknown[]) => unknown>;
      const original = target.fromArray!;
      let uploads = 0;
      target.fromArray = (...a: unknown[]) => {
        uploads++;
        return original.apply(gpu, a);
      };
      try {
        const gs = E.tidy(() => {
          const o = { window: 3, keyMask, dropout: 0.25, seed: 11 };
          const y = E.add(E.attentionRows(q!, k!, v!, 2, o), E.attentionPacked(E.concat([q!, k!, v!], 2), 2, o));
          const heads = (x: Tensor) => E.permute(E.reshape(x, [2, 9, 2, 4]), [0, 2, 1, 3]); // [B, H, T, D]
          const y4 = E.attention(heads(q!), heads(k!), heads(v!), o);
          const loss = E.add(E.sum(E.mul(y, y)), E.sum(E.mul(y4, y4)));
          const first = E.grad(loss, [q!, k!, v!], { retainGraph: true });
          const [dq] = E.grad(loss, [q!], { createGraph: true }); // recorded: maskedSoftmax, E.dropout
          return [...first, ...E.grad(E.sum(E.mul(dq!, dq!)), [q!, k!, v!])];
        });
        await gs[0]!.data();
        gs.forEach((g) => g.dispose());
      } finally {
        delete target.fromArray;
      }
      expect(uploads, `${family}: host uploads inside the pass`).toBe(0);
      [q, k, v, keyMask].forEach((t) => t!.dispose());
    }
  });
});
