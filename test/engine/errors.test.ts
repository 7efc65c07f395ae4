// Bad input gives a clear error naming the op and the shapes: shape and dtype mismatches,
// out-of-range indices, float64 on webgpu, use after dispose, wrong device.

import { describe, expect, it } from 'vitest';
import * as E from '../../engine/index.js';
import { deviceUnderTest } from './webgpu-required.js';

describe('bad input', () => {
  it('shape mismatches name the op and the shapes', () => {
    const a = E.zeros([2, 3]);
    const b = E.zeros([4, 3]);
    expect(() => E.add(a, b)).toThrow(/add: shapes \[2, 3\] and \[4, 3\] cannot be broadcast/);
    expect(() => E.matmul(a, b)).toThrow(/matmul: inner dims differ: \[2, 3\] @ \[4, 3\]/);
    expect(() => E.reshape(a, [4, 2])).toThrow(/reshape: cannot reshape \[2, 3\].*\[4, 2\]/);
    expect(() => E.layerNorm(a, E.zeros([2]), E.zeros([3]))).toThrow(/layerNorm: weight \[2\]/);
    expect(() => E.slice(a, [0, 2], [2, 4])).toThrow(/slice: range/);
    expect(() => E.concat([a, E.zeros([2, 3, 1])], 1)).toThrow(/concat/);
    expect(() => E.sum(a, 2)).toThrow(/sum: axis 2 is out of range/);
  });
  it('dtype mismatches', () => {
    const f = E.zeros([3]);
    const i = E.tensor([1, 2, 3], [3], { dtype: 'int32' });
    expect(() => E.add(f, i)).toThrow(/add: dtype mismatch, float32 \[3\] vs int32 \[3\]/);
    expect(() => E.gather(f, f)).toThrow(/gather: expected int32 indices, got float32/);
    expect(() => E.exp(i)).toThrow(/exp: expected a float tensor, got int32/);
    expect(() => E.tensor([1], [1], { dtype: 'int32', requiresGrad: true })).toThrow(/int32 tensors cannot require gradients/);
  });
  it('out-of-range indices', () => {
    const table = E.zeros([5, 2]);
    expect(() => E.gather(table, E.tensor([0, 5], [2], { dtype: 'int32' }))).toThrow(/gather: index 5 at position 1 is out of range \[0, 5\) for table \[5, 2\]/);
    expect(() => E.gather(table, E.tensor([-1], [1], { dtype: 'int32' }))).toThrow(/index -1/);
    expect(() => E.crossEntropy(E.zeros([2, 4]), E.tensor([1, 9], [2], { dtype: 'int32' }))).toThrow(/crossEntropy: label 9 at position 1 is out of range \[0, 4\)/);
  });
  it('use after dispose', () => {
    const a = E.ones([2]);
    a.dispose();
    expect(() => E.exp(a)).toThrow(/exp: tensor #\d+ of shape \[2\] was used after dispose/);
    const w = E.ones([2], { requiresGrad: true, name: 'w' });
    const y = E.sum(E.mul(w, w));
    w.dispose();
    expect(() => E.grad(y, [w])).toThrow(/'w'.*used after dispose/);
  });
  it('grad of a non-scalar needs gradOutputs; a second backward needs retainGraph', () => {
    const w = E.ones([3], { requiresGrad: true });
    expect(() => E.grad(E.mul(w, w), [w])).toThrow(/not a scalar; pass gradOutputs/);
    const y = E.sum(E.exp(w));
    E.grad(y, [w]);
    expect(() => E.grad(y, [w])).toThrow(/retainGraph/);
  });
  it('unknown device names are rejected', async () => {
    await expect(E.initDevice('tpu')).rejects.toThrow(/unknown device 'tpu'/);
  });
  it('float64 on webgpu and mixing devices', async () => {
    const gpu = await deviceUnderTest('webgpu');
    if (!gpu) return;
    expect(() => E.zeros([2], { dtype: 'float64', device: 'webgpu' })).toThrow(/float64 is not supported on webgpu/);
    const a = E.zeros([2], { device: 'webgpu' });
    const b = E.zeros([2], { device: 'cpu' });
    expect(() => E.add(a, b)).toThrow(/add: tensors are on different devices \(\[2\] on webgpu, \[2\] on cpu\)/);
  });
});
