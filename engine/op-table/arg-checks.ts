// One storage-level argument check per backend kernel, used by every backend (cpu, cpu-fast and
// webgpu call CHECK.<op> with their DeviceRules before running the kernel): sizes against the
// shapes passed, dtypes against the device's rules, counts. Shape and broadcasting rules of the
// tensor-level ops live in engine/ops; these guard the kernel contract itself.

import type { AttentionSpec, Storage } from '../backend.js';
import type { KernelArgs, KernelName } from './names.js';
import {
  requireCount,
  requireDType,
  requireFloat,
  requireFloatDType,
  requireFloatsOfSize,
  requireInt32,
  requireSameDType,
  requireSize,
  shapeElements,
  type DeviceRules,
} from './rules.js';

/** A kernel's check: the device rules, then the kernel's own arguments. */
export type ArgCheck<K extends KernelName> = (dev: DeviceRules, ...args: KernelArgs<K>) => void;
export type CheckTable = { readonly [K in KernelName]?: ArgCheck<K> };

function requireKeyMask(dev: DeviceRules, keyMask: Storage | null, spec: AttentionSpec, op: string): void {
  if (!keyMask) return;
  requireDType(dev, keyMask.dtype, op);
  requireSize(dev, keyMask, spec.B * spec.T, op, `keyMask [${spec.B}, ${spec.T}]`);
}

function requireLse(dev: DeviceRules, lse: Storage | null, spec: AttentionSpec, op: string): void {
  if (lse) requireSize(dev, lse, spec.B * spec.H * spec.T, op, `lse [${spec.B * spec.H * spec.T}]`);
}

function requireAxes(dev: DeviceRules, shape: number[], axes: number[], op: string): void {
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]!;
    if (!Number.isInteger(a) || a < 0 || a >= shape.length || (i > 0 && a <= axes[i - 1]!)) {
      throw new Error(`${dev.device} ${op}: axes [${axes.join(', ')}] must be sorted, unique and in [0, ${shape.length})`);
    }
  }
}

/** Storages [B, H, T, D] (attention's layout). */
const heads = (s: AttentionSpec) => `[${s.B}, ${s.H}, ${s.T}, ${s.D}]`;
/** Storages [B, T, H·D] (attentionRows' layout). */
const rows = (s: AttentionSpec) => `[${s.B}, ${s.T}, ${s.H * s.D}]`;

const checks = {
  full(dev, size, dtype) {
    requireDType(dev, dtype, 'full');
    requireCount(dev, size, 'full', 'size');
  },
  arange(dev, size, dtype, _start, _step, period) {
    requireDType(dev, dtype, 'arange');
    requireCount(dev, size, 'arange', 'size');
    if (!Number.isInteger(period) || period < 1) throw new Error(`${dev.device} arange: period must be a positive integer, got ${period}`);
  },
  unary(dev, op, x) {
    requireDType(dev, x.dtype, `unary '${op}'`);
  },
  binary(dev, op, a, _av, b) {
    const name = `binary '${op}'`;
    requireDType(dev, a.dtype, name);
    requireSameDType(dev, name, ['a', a], ['b', b]);
  },
  where(dev, c, _cv, a, _av, b) {
    requireDType(dev, a.dtype, 'where');
    requireDType(dev, c.dtype, 'where');
    requireSameDType(dev, 'where', ['a', a], ['b', b]);
  },
  cast(dev, x, to) {
    requireDType(dev, x.dtype, 'cast');
    requireDType(dev, to, 'cast');
  },
  addScaled(dev, a, b) {
    requireFloatsOfSize(dev, 'addScaled', a.size, `[${a.size}]`, ['a', a], ['b', b]);
  },
  copy(dev, src) {
    requireDType(dev, src.dtype, 'copy');
  },
  copyInto(dev, dst, _dv, src) {
    requireDType(dev, dst.dtype, 'copyInto');
    requireSameDType(dev, 'copyInto', ['dst', dst], ['src', src]);
  },
  pad(dev, src, shape, before, after) {
    requireDType(dev, src.dtype, 'pad');
    requireSize(dev, src, shapeElements(dev, shape, 'pad'), 'pad', `src [${shape.join(', ')}]`);
    if (before.length !== shape.length || after.length !== shape.length) {
      throw new Error(`${dev.device} pad: need ${shape.length} before/after amounts, got ${before.length} and ${after.length}`);
    }
  },
  gather(dev, table, N, D, idx) {
    requireDType(dev, table.dtype, 'gather');
    requireInt32(dev, idx, 'gather', 'idx');
    requireSize(dev, table, N * D, 'gather', `table [${N}, ${D}]`);
  },
  scatterAdd(dev, src, M, D, idx) {
    requireDType(dev, src.dtype, 'scatterAdd');
    requireInt32(dev, idx, 'scatterAdd', 'idx');
    requireSize(dev, src, M * D, 'scatterAdd', `src [${M}, ${D}]`);
    requireSize(dev, idx, M, 'scatterAdd', `idx [${M}]`);
  },
  topk(dev, x, R, C, k) {
    requireFloatsOfSize(dev, 'topk', R * C, `[${R}, ${C}]`, ['x', x]);
    if (!Number.isInteger(k) || k < 1 || k > C) throw new Error(`${dev.device} topk: k must be an integer in [1, C=${C}], got ${k}`);
  },
  oneHot(dev, idx, R, _C, dtype) {
    requireDType(dev, dtype, 'oneHot');
    requireInt32(dev, idx, 'oneHot', 'idx');
    requireSize(dev, idx, R, 'oneHot', `idx [${R}]`);
  },
  reduce(dev, op, x, shape, axes) {
    const name = `reduce '${op}'`;
    requireDType(dev, x.dtype, name);
    requireSize(dev, x, shapeElements(dev, shape, name), name, `x [${shape.join(', ')}]`);
    requireAxes(dev, shape, axes, name);
  },
  matmul(dev, a, b, spec, bias) {
    requireFloat(dev, a, 'matmul', 'a');
    requireSameDType(dev, 'matmul', ['a', a], ['b', b]);
    if (bias) {
      requireSameDType(dev, 'matmul', ['a', a], ['bias', bias]);
      requireSize(dev, bias, spec.N, 'matmul', `bias [N = ${spec.N}]`);
    }
    const { batch, aBatchStrides, bBatchStrides, M, K, N } = spec;
    for (const [name, v] of [['M', M], ['K', K], ['N', N]] as const) requireCount(dev, v, 'matmul', name);
    if (aBatchStrides.length !== batch.length || bBatchStrides.length !== batch.length) {
      throw new Error(
        `${dev.device} matmul: batch [${batch.join(', ')}] needs ${batch.length} batch strides per operand, got ` +
          `a [${aBatchStrides.join(', ')}] and b [${bBatchStrides.join(', ')}]`,
      );
    }
    if (shapeElements(dev, batch, 'matmul') === 0) return;
    const reach = (strides: number[], elem: number): number => strides.reduce((acc, s, j) => acc + (batch[j]! - 1) * s, 0) + elem;
    const aNeed = reach(aBatchStrides, M * K);
    const bNeed = reach(bBatchStrides, K * N);
    if (aNeed > a.size) throw new Error(`${dev.device} matmul: a needs ${aNeed} elements for this spec, storage has ${a.size}`);
    if (bNeed > b.size) throw new Error(`${dev.device} matmul: b needs ${bNeed} elements for this spec, storage has ${b.size}`);
  },
  softmax(dev, x, R, C) {
    requireFloatsOfSize(dev, 'softmax', R * C, `[${R}, ${C}]`, ['x', x]);
  },
  logSoftmax(dev, x, R, C) {
    requireFloatsOfSize(dev, 'logSoftmax', R * C, `[${R}, ${C}]`, ['x', x]);
  },
  layerNorm(dev, x, w, b, R, C) {
    requireFloatsOfSize(dev, 'layerNorm', R * C, `[${R}, ${C}]`, ['x', x]);
    requireFloatsOfSize(dev, 'layerNorm', C, `[${C}]`, ['w', w], ['b', b]);
    requireSameDType(dev, 'layerNorm', ['x', x], ['w', w]);
  },
  crossEntropy(dev, logits, labels, R, V) {
    requireFloatsOfSize(dev, 'crossEntropy', R * V, `[${R}, ${V}]`, ['logits', logits]);
    requireInt32(dev, labels, 'crossEntropy', 'labels');
    requireSize(dev, labels, R, 'crossEntropy', `labels [${R}]`);
  },
  crossEntropyBackward(dev, logits, labels, g, R, V) {
    const op = 'crossEntropyBackward';
    requireFloatsOfSize(dev, op, R * V, `[${R}, ${V}]`, ['logits', logits]);
    requireInt32(dev, labels, op, 'labels');
    requireSize(dev, labels, R, op, `labels [${R}]`);
    requireFloatsOfSize(dev, op, R, `[${R}]`, ['g', g]);
    requireSameDType(dev, op, ['logits', logits], ['g', g]);
  },
  crossEntropyGradBackward(dev, logits, labels, g, u, R, V) {
    const op = 'crossEntropyGradBackward';
    requireFloatsOfSize(dev, op, R * V, `[${R}, ${V}]`, ['logits', logits], ['u', u]);
    requireInt32(dev, labels, op, 'labels');
    requireSize(dev, labels, R, op, `labels [${R}]`);
    requireFloatsOfSize(dev, op, R, `[${R}]`, ['g', g]);
    requireSameDType(dev, op, ['logits', logits], ['g', g], ['u', u]);
  },
  softmaxBackward(dev, y, g, R, C) {
    requireFloatsOfSize(dev, 'softmaxBackward', R * C, `[${R}, ${C}]`, ['y', y], ['g', g]);
  },
  layerNormBackward(dev, x, w, g, R, C) {
    const op = 'layerNormBackward';
    requireFloatsOfSize(dev, op, R * C, `[${R}, ${C}]`, ['x', x], ['g', g]);
    requireFloatsOfSize(dev, op, C, `[${C}]`, ['w', w]);
    requireSameDType(dev, op, ['x', x], ['w', w]);
  },
  layerNormGradBackward(dev, x, w, g, dx, u, R, C) {
    const op = 'layerNormGradBackward';
    requireFloatsOfSize(dev, op, R * C, `[${R}, ${C}]`, ['x', x], ['g', g], ['dx', dx], ['u', u]);
    requireFloatsOfSize(dev, op, C, `[${C}]`, ['w', w]);
    requireSameDType(dev, op, ['x', x], ['w', w]);
  },
  layerNormWeightGradBackward(dev, x, g, a, R, C) {
    const op = 'layerNormWeightGradBackward';
    requireFloatsOfSize(dev, op, R * C, `[${R}, ${C}]`, ['x', x], ['g', g]);
    requireFloatsOfSize(dev, op, C, `[${C}]`, ['a', a]);
    requireSameDType(dev, op, ['x', x], ['a', a]);
  },
  geluBackward(dev, _kind, x, g) {
    requireFloatsOfSize(dev, 'geluBackward', x.size, `[${x.size}]`, ['x', x], ['g', g]);
  },
  geluGradBackward(dev, _kind, x, g, u) {
    requireFloatsOfSize(dev, 'geluGradBackward', x.size, `[${x.size}]`, ['x', x], ['g', g], ['u', u]);
  },
  maskedSoftmax(dev, scores, keyMask, spec) {
    const { B, H, T } = spec;
    requireFloatsOfSize(dev, 'maskedSoftmax', B * H * T * T, `[${B}, ${H}, ${T}, ${T}]`, ['scores', scores]);
    requireKeyMask(dev, keyMask, spec, 'maskedSoftmax');
  },
  attention(dev, q, k, v, keyMask, spec) {
    requireFloatsOfSize(dev, 'attention', spec.B * spec.H * spec.T * spec.D, heads(spec), ['q', q], ['k', k], ['v', v]);
    requireKeyMask(dev, keyMask, spec, 'attention');
  },
  attentionBackward(dev, q, k, v, out, g, keyMask, spec) {
    const op = 'attentionBackward';
    requireFloatsOfSize(dev, op, spec.B * spec.H * spec.T * spec.D, heads(spec), ['q', q], ['k', k], ['v', v], ['out', out], ['g', g]);
    requireKeyMask(dev, keyMask, spec, op);
  },
  attentionPacked(dev, qkv, keyMask, spec) {
    const C = spec.H * spec.D;
    requireFloatsOfSize(dev, 'attentionPacked', spec.B * spec.T * 3 * C, `[${spec.B}, ${spec.T}, ${3 * C}]`, ['qkv', qkv]);
    requireKeyMask(dev, keyMask, spec, 'attentionPacked');
  },
  attentionPackedBackward(dev, qkv, out, g, lse, keyMask, spec) {
    const op = 'attentionPackedBackward';
    const C = spec.H * spec.D;
    requireFloatsOfSize(dev, op, spec.B * spec.T * 3 * C, `[${spec.B}, ${spec.T}, ${3 * C}]`, ['qkv', qkv]);
    requireFloatsOfSize(dev, op, spec.B * spec.T * C, rows(spec), ['out', out], ['g', g]);
    requireLse(dev, lse, spec, op);
    requireKeyMask(dev, keyMask, spec, op);
  },
  attentionRows(dev, q, k, v, keyMask, spec) {
    requireFloatsOfSize(dev, 'attentionRows', spec.B * spec.T * spec.H * spec.D, rows(spec), ['q', q], ['k', k], ['v', v]);
    requireKeyMask(dev, keyMask, spec, 'attentionRows');
  },
  attentionRowsBackward(dev, q, k, v, out, g, lse, keyMask, spec) {
    const op = 'attentionRowsBackward';
    requireFloatsOfSize(dev, op, spec.B * spec.T * spec.H * spec.D, rows(spec), ['q', q], ['k', k], ['v', v], ['out', out], ['g', g]);
    requireLse(dev, lse, spec, op);
    requireKeyMask(dev, keyMask, spec, op);
  },
  rotaryTable(dev, positions, n, _invFreq, _fn, dtype) {
    requireFloatDType(dev, dtype, 'rotaryTable', 'the table dtype');
    requireInt32(dev, positions, 'rotaryTable', 'positions');
    requireSize(dev, positions, n, 'rotaryTable', `positions [${n}]`);
  },
  dropoutMask(dev, size, _p, _seed, dtype) {
    requireFloatDType(dev, dtype, 'dropoutMask', 'dtype');
    requireCount(dev, size, 'dropoutMask', 'size');
  },
  adamStep(dev, param, grad, m, v, gradScale, spec) {
    requireFloatsOfSize(dev, 'adamStep', param.size, `[${param.size}]`, ['param', param], ['grad', grad], ['m', m], ['v', v]);
    if (gradScale) requireFloat(dev, gradScale, 'adamStep', 'gradScale');
    if (!(Number.isInteger(spec.step) && spec.step >= 1)) throw new Error(`${dev.device} adamStep: step must be an integer >= 1, got ${spec.step}`);
  },
  sgdStepInPlace(dev, param, grad, _lr, gradScale) {
    requireFloatsOfSize(dev, 'sgdStepInPlace', param.size, `[${param.size}]`, ['param', param], ['grad', grad]);
    if (gradScale) requireFloat(dev, gradScale, 'sgdStepInPlace', 'gradScale');
  },
  sgdStepInPlaceGroup(dev, params, grads) {
    const op = 'sgdStepInPlaceGroup';
    if (params.length !== grads.length) throw new Error(`${dev.device} ${op}: ${params.length} params but ${grads.length} grads`);
    params.forEach((p, i) => requireFloatsOfSize(dev, op, p.size, `[${p.size}]`, [`param ${i}`, p], [`grad ${i}`, grads[i]!]));
  },
} satisfies CheckTable;

/** The checks by kernel name; each takes the device rules and the kernel's full argument list. */
export const CHECK: { readonly [K in keyof typeof checks]: ArgCheck<K> } = checks;
