// Reductions over axes (keepdim optional): sum, max, min, mean, logsumexp.

import { normalizeAxes } from '../shape.js';
import { Tensor, shapeSize } from '../tensor.js';
import { div, eq, log, exp, add, sub, mulScalar, mul } from './elementwise.js';
import { expand, reshape } from './movement.js';
import { assertFloat, record, storages } from './record.js';
import { noGrad } from '../scope.js';

function keepShape(shape: readonly number[], axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function dropAxes(x: Tensor, axes: number[], keepdim: boolean): Tensor {
  if (keepdim) return x;
  return reshape(x, x.shape.filter((_, i) => !axes.includes(i)));
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  const [xs] = storages('sum', x);
  const ax = normalizeAxes('sum', axes, x.rank);
  const ks = keepShape(x.shape, ax);
  const out = record('sum', x.backend.reduce('sum', xs!, [...x.shape], ax), ks, [x], (g) => [expand(g, x.shape)]);
  return dropAxes(out, ax, keepdim);
}

function extremum(op: 'max' | 'min', x: Tensor, axes: number | readonly number[] | undefined, keepdim: boolean): Tensor {
  const [xs] = storages(op, x);
  assertFloat(op, x);
  const ax = normalizeAxes(op, axes, x.rank);
  if (ax.some((a) => x.shape[a] === 0)) throw new Error(`${op}: cannot reduce over an empty dim of [${x.shape.join(', ')}]`);
  const ks = keepShape(x.shape, ax);
  const out = record(op, x.backend.reduce(op, xs!, [...x.shape], ax), ks, [x], (g, y) => {
    // The gradient is shared evenly between tied extrema (PyTorch's amax/amin rule).
    const hit = eq(x, y);
    const count = sum(hit, ax, true);
    return [mul(expand(div(g, count), x.shape), hit)];
  });
  return dropAxes(out, ax, keepdim);
}

export const max = (x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor => extremum('max', x, axes, keepdim);
export const min = (x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor => extremum('min', x, axes, keepdim);

export function mean(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  const ax = normalizeAxes('mean', axes, x.rank);
  const n = shapeSize(ax.map((a) => x.shape[a]!));
  return mulScalar(sum(x, ax, keepdim), 1 / n);
}

/** log(sum(exp(x))) over axes, stabilised by the (detached) max; its gradient is softmax(x). */
export function logsumexp(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  const ax = normalizeAxes('logsumexp', axes, x.rank);
  const m = noGrad(() => max(x, ax, true));
  const out = add(log(sum(exp(sub(x, m)), ax, true)), m);
  return dropAxes(out, ax, keepdim);
}
