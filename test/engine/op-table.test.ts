// The op table (engine/op-table) is complete and agrees with the code: every row's backends have
// (and only they have) their own method, every named WGSL file exists and defines its entry points,
// every shader file belongs to a row, every launched kernel has an argument check that names the op
// and the bad argument on every backend, every listed engine/ops function and composite exists,
// every differentiable kernel has a row in op-cases.ts, and the bench names resolve in either case.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { KERNEL_NAMES, OP_TABLE, type Backend, type KernelName } from '../../engine/index.js';
import { CpuBackend } from '../../engine/cpu/index.js';
import { FastCpuBackend } from '../../engine/cpu-fast/index.js';
import { kernelForBench } from '../../engine/op-table/index.js';
import { WebGPUBackend } from '../../engine/webgpu/index.js';
import { shadersDir } from '../../engine/webgpu/shaders.js';
import { opCases } from './op-cases.js';
import { deviceUnderTest } from './webgpu-required.js';

const ownMethod = (proto: object, name: string) => Object.prototype.hasOwnProperty.call(proto, name) && typeof (proto as Record<string, unknown>)[name] === 'function';

describe('op table rows agree with the backends', () => {
  it('covers every Backend method once (the type makes a missing row a compile error)', () => {
    expect(new Set(KERNEL_NAMES).size).toBe(KERNEL_NAMES.length);
    expect(KERNEL_NAMES.length).toBeGreaterThanOrEqual(45);
  });

  it('the backends a row lists are exactly the classes with their own method', () => {
    const classes = { cpu: CpuBackend.prototype, cpuFast: FastCpuBackend.prototype, webgpu: WebGPUBackend.prototype } as const;
    for (const name of KERNEL_NAMES) {
      for (const [id, proto] of Object.entries(classes)) {
        const listed = OP_TABLE[name].backends.includes(id as keyof typeof classes);
        expect(ownMethod(proto, name), `${name} on ${id}: listed ${listed}`).toBe(listed);
      }
    }
  });

  it('required kernels have the cpu reference loop and a webgpu method; optional ones a webgpu method', () => {
    for (const name of KERNEL_NAMES) {
      const row = OP_TABLE[name];
      expect(row.backends, name).toContain('webgpu');
      if (!row.optional) expect(row.backends, `${name} is required`).toContain('cpu');
    }
  });

  it('every launched kernel has an argument check; fused kernels name their composite', () => {
    for (const name of KERNEL_NAMES) {
      const row = OP_TABLE[name];
      if (row.counted === 'kernel') expect(row.check, `${name} has no check`).not.toBeNull();
      if (row.kind === 'fused') expect(row.composite, `${name} has no composite`).toBeTruthy();
    }
  });
});

describe('op table rows agree with the shaders', () => {
  const dir = shadersDir();
  it('every named WGSL file exists and defines `fn <entry>` for each entry', () => {
    for (const name of KERNEL_NAMES) {
      for (const { file, entries } of OP_TABLE[name].wgsl) {
        const path = join(dir, file);
        expect(existsSync(path), `${name}: shaders/${file}`).toBe(true);
        const text = readFileSync(path, 'utf8');
        for (const entry of entries) expect(new RegExp(`\\bfn\\s+${entry}\\s*\\(`).test(text), `${name}: fn ${entry} in ${file}`).toBe(true);
      }
    }
  });

  it('every shader file belongs to a row, and a file named after an op holds its entry (`fn <op>`, or passes `fn <op><Pass>`)', () => {
    const named = new Set(KERNEL_NAMES.flatMap((n) => OP_TABLE[n].wgsl.map((w) => w.file)));
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.wgsl'))) {
      expect(named.has(file), `shaders/${file} is in no op-table row`).toBe(true);
      const op = file.slice(0, -'.wgsl'.length) as KernelName;
      if (op in OP_TABLE) expect(OP_TABLE[op].wgsl.some((w) => w.file === file && w.entries.some((e) => e.startsWith(op))), `${file} holds fn ${op}…`).toBe(true);
    }
  });
});

describe('op table rows agree with engine/ops and the op cases', () => {
  const exported = E as unknown as Record<string, unknown>;
  const exists = (name: string): boolean => {
    const [owner, member] = name.split('.');
    if (!member) return typeof exported[owner!] === 'function';
    const cls = owner === 'Tensor' ? E.Tensor : exported[owner!];
    return typeof cls === 'function' && typeof (cls as { prototype: Record<string, unknown> }).prototype[member] === 'function';
  };

  it('every listed op and composite is an engine export', () => {
    const missing = KERNEL_NAMES.flatMap((name) => [...OP_TABLE[name].ops, OP_TABLE[name].composite ?? 'Tensor.data'].filter((op) => !exists(op)).map((op) => `${name}: ${op}`));
    expect(missing).toEqual([]);
  });

  it('every differentiable kernel is exercised by a row of op-cases.ts', () => {
    const sources = opCases.map((c) => ({ c, src: c.f.toString() }));
    for (const name of KERNEL_NAMES) {
      const row = OP_TABLE[name];
      if (!row.differentiable) continue;
      const covered = sources.some(({ c, src }) => c.kernels?.includes(name) || row.ops.some((op) => new RegExp(`\\.${op}\\(`).test(src)));
      expect(covered, `${name}: no op-cases row calls ${row.ops.join(' / ')} or lists it in kernels`).toBe(true);
    }
  });

  it('bench names are unique and resolve in either spelling', () => {
    const benches = KERNEL_NAMES.map((n) => OP_TABLE[n].bench).filter((b): b is string => !!b);
    expect(new Set(benches.map((b) => b.toLowerCase())).size).toBe(benches.length);
    expect(kernelForBench('layerNorm')).toBe('layerNorm');
    expect(kernelForBench('layernorm')).toBe('layerNorm');
    expect(kernelForBench('nope')).toBeNull();
  });
});

// One argument check per kernel, run by each backend: the error names the device, the op and the argument.
const webgpu = await deviceUnderTest('webgpu');
for (const [device, backend] of [['cpu', E.getBackend('cpu')], ['webgpu', webgpu]] as const) {
  describe.skipIf(!backend)(`op table argument checks on ${device}`, () => {
    const b = backend as Backend;
    const f32 = (n: number) => b.fromArray(new Float32Array(n), 'float32');
    const i32 = (n: number) => b.fromArray(new Int32Array(n), 'int32');
    it('sizes: the op, the argument and its shape are named', () => {
      expect(() => b.layerNorm(f32(8), f32(3), f32(4), 2, 4, 1e-5)).toThrow(new RegExp(`${device} layerNorm: w \\[4\\] has 3 elements, expected 4`));
      expect(() => b.crossEntropy(f32(6), i32(3), 2, 3, -100)).toThrow(new RegExp(`${device} crossEntropy: labels \\[2\\] has 3 elements, expected 2`));
      expect(() => b.softmaxBackward(f32(6), f32(5), 2, 3)).toThrow(new RegExp(`${device} softmaxBackward: g \\[2, 3\\] has 5 elements`));
      expect(() => b.gather(f32(6), 3, 2, f32(2))).toThrow(new RegExp(`${device} gather: idx must be int32, got float32`));
      expect(() => b.adamStep(f32(4), f32(3), f32(4), f32(4), null, { lr: 1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, step: 1 })).toThrow(
        new RegExp(`${device} adamStep: grad \\[4\\] has 3 elements, expected 4`),
      );
    });
    it('dtypes: an int32 storage where a float kernel needs a float', () => {
      expect(() => b.softmax(i32(6), 2, 3)).toThrow(new RegExp(`${device} softmax: x must be float32`));
      expect(() => b.geluBackward!('gelu_tanh', f32(4), i32(4))).toThrow(new RegExp(`${device} geluBackward: g must be float32`));
    });
  });
}
