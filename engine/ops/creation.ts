// Tensor creation: from host data, constants, ranges, seeded random numbers, device transfer.

import type { Backend, DType, DeviceName, TypedArray } from '../backend.js';
import { getBackend } from '../device.js';
import { HostRng } from '../random.js';
import { hasKernel } from '../op-table/fallback.js';
import { Tensor, shapeSize, shapeStr } from '../tensor.js';

export interface CreateOptions {
  dtype?: DType;
  device?: DeviceName;
  requiresGrad?: boolean;
  name?: string;
}

type Nested = number | Nested[];

function backendFor(op: string, dtype: DType, device?: DeviceName): Backend {
  const b = getBackend(device);
  if (!b.supportsDType(dtype)) {
    throw new Error(`${op}: ${dtype} is not supported on ${b.name}; use the cpu device for float64 (gradient checks)`);
  }
  return b;
}

function flatten(op: string, data: Nested, shape: number[], out: number[], depth: number): void {
  if (typeof data === 'number') {
    if (depth !== shape.length) throw new Error(`${op}: ragged nested array`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data)) throw new Error(`${op}: expected numbers or nested arrays, got ${typeof data}`);
  if (depth === shape.length) shape.push(data.length);
  else if (shape[depth] !== data.length) throw new Error(`${op}: ragged nested array (length ${data.length} vs ${shape[depth]} at depth ${depth})`);
  for (const d of data) flatten(op, d, shape, out, depth + 1);
}

function toTyped(values: ArrayLike<number>, dtype: DType): TypedArray {
  if (dtype === 'float32') return Float32Array.from(values);
  if (dtype === 'float64') return Float64Array.from(values);
  return Int32Array.from(values);
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) {
    if (t.dtype === 'int32') throw new Error(`tensor: int32 tensors cannot require gradients`);
    t.requiresGrad = true;
  }
  if (opts.name) t.name = opts.name;
  return t;
}

/**
 * A tensor from host data: nested arrays, or a flat array/typed array with an explicit shape.
 * dtype defaults to the typed array's, else float32.
 */
export function tensor(data: Nested | ArrayLike<number>, shape?: readonly number[], opts: CreateOptions = {}): Tensor {
  let flat: ArrayLike<number>;
  let sh: number[];
  if (shape) {
    flat = data as ArrayLike<number>;
    if (typeof data === 'number') flat = [data];
    else if (Array.isArray(data) && data.some((d) => Array.isArray(d))) {
      const tmp: number[] = [];
      flatten('tensor', data as Nested, [], tmp, 0);
      flat = tmp;
    }
    sh = [...shape];
    if (shapeSize(sh) !== flat.length) throw new Error(`tensor: ${flat.length} values do not fill shape ${shapeStr(sh)}`);
  } else if (ArrayBuffer.isView(data)) {
    flat = data as unknown as ArrayLike<number>;
    sh = [flat.length];
  } else {
    const tmp: number[] = [];
    sh = [];
    flatten('tensor', data as Nested, sh, tmp, 0);
    flat = tmp;
  }
  const dtype: DType =
    opts.dtype ?? (data instanceof Float64Array ? 'float64' : data instanceof Int32Array ? 'int32' : 'float32');
  const b = backendFor('tensor', dtype, opts.device);
  const typed = toTyped(flat, dtype);
  const t = new Tensor(b.fromArray(typed, dtype), sh, b);
  if (dtype === 'int32' && typed.length <= 1 << 22) t.hostInt = typed as Int32Array;
  return finish(t, opts);
}

export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new Error(`full: invalid shape ${shapeStr(shape)}`);
  const b = backendFor('full', dtype, opts.device);
  return finish(new Tensor(b.full(shapeSize(shape), dtype, value), shape, b), opts);
}

export const zeros = (shape: readonly number[], opts: CreateOptions = {}): Tensor => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts: CreateOptions = {}): Tensor => full(shape, 1, opts);

/** Tensors shaped, typed and placed like `like`. */
export function zerosLike(like: Tensor): Tensor {
  return full(like.shape, 0, { dtype: like.dtype, device: like.device });
}
export function fullLike(like: Tensor, value: number): Tensor {
  return full(like.shape, value, { dtype: like.dtype, device: like.device });
}

/** [start, stop) with step; int32 by default. */
export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (step === 0) throw new Error('arange: step must be non-zero');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  return ranges('arange', 1, n, [n], start, step, opts);
}

/**
 * [rows, n]: every row is arange(start, stop, step) (position ids of a batch), made on the device
 * when the backend can (no upload); int32 by default.
 */
export function arangeRows(rows: number, start: number, stop: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (step === 0) throw new Error('arangeRows: step must be non-zero');
  if (!Number.isInteger(rows) || rows < 0) throw new Error(`arangeRows: rows must be a non-negative integer, got ${rows}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  return ranges('arangeRows', rows, n, [rows, n], start, step, opts);
}

/** rows × n values start + (i mod n) · step shaped `shape`: on the device when the backend can. */
function ranges(op: string, rows: number, n: number, shape: number[], start: number, step: number, opts: CreateOptions): Tensor {
  const dtype = opts.dtype ?? 'int32';
  const size = rows * n;
  const value = (i: number) => start + (i % n) * step;
  const b = backendFor(op, dtype, opts.device);
  const exact = dtype !== 'int32' || (Number.isInteger(start) && Number.isInteger(step));
  if (!hasKernel(b, 'arange') || size === 0 || !exact) return tensor(Array.from({ length: size }, (_, i) => value(i)), shape, { ...opts, dtype });
  const t = new Tensor(b.arange(size, dtype, start, step, n), shape, b);
  if (dtype === 'int32' && size <= 1 << 22) {
    // The values are known here: index checks (gather) keep working without a readback.
    const host = new Int32Array(size);
    for (let i = 0; i < size; i++) host[i] = value(i);
    t.hostInt = host;
  }
  return finish(t, opts);
}

export interface RandomOptions extends CreateOptions {
  seed: number;
}

/** Uniform in [low, high), generated on the host from the seed: same numbers on every backend. */
export function randUniform(shape: readonly number[], low: number, high: number, opts: RandomOptions): Tensor {
  const rng = new HostRng(opts.seed);
  const n = shapeSize(shape);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = low + (high - low) * rng.uniform();
  return tensor(vals, shape, { dtype: 'float32', ...opts });
}

/** Normal(mean, std), host-generated from the seed: same numbers on every backend. */
export function randNormal(shape: readonly number[], mean: number, std: number, opts: RandomOptions): Tensor {
  const rng = new HostRng(opts.seed);
  const n = shapeSize(shape);
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = mean + std * rng.normal();
  return tensor(vals, shape, { dtype: 'float32', ...opts });
}

/** Copy to another device (through the host). Not recorded on the tape. */
export async function toDevice(t: Tensor, device: DeviceName, dtype: DType = t.dtype): Promise<Tensor> {
  const data = await t.data();
  const out = tensor(data, t.shape, { dtype, device });
  if (t.requiresGrad && !t.node) out.requiresGrad = true;
  out.name = t.name;
  return out;
}
