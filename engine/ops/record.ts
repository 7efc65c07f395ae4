// How an op result joins the tape: output tensor, requiresGrad propagation, node with its vjp.
// Also the device/dtype/alive checks every op starts with.

import type { DType, Storage } from '../backend.js';
import { isGradEnabled } from '../scope.js';
import { Tensor, shapeStr } from '../tensor.js';

export type Vjp = (g: Tensor, out: Tensor) => (Tensor | null)[];

/** Wrap a kernel result as a tensor and record it on the tape when any input needs a gradient. */
export function record(op: string, storage: Storage, shape: readonly number[], inputs: readonly Tensor[], vjp: Vjp | null): Tensor {
  const backend = inputs[0]!.backend;
  return attachNode(new Tensor(storage, shape, backend), op, inputs, vjp);
}

/** Record `out` (already made, e.g. a storage-sharing reshape) as the result of op on inputs. */
export function attachNode(out: Tensor, op: string, inputs: readonly Tensor[], vjp: Vjp | null): Tensor {
  if (vjp && isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs: [...inputs], vjp: (g) => vjp(g, out) };
  }
  return out;
}

/** Check every input is alive and on one device; returns their storages. */
export function storages(op: string, ...ts: Tensor[]): Storage[] {
  const dev = ts[0]!.device;
  for (const t of ts) {
    if (t.device !== dev) {
      throw new Error(`${op}: tensors are on different devices (${ts.map((x) => `${shapeStr(x.shape)} on ${x.device}`).join(', ')}); move them with toDevice()`);
    }
  }
  return ts.map((t) => t.storageFor(op));
}

export function assertFloat(op: string, t: Tensor): void {
  if (t.dtype === 'int32') throw new Error(`${op}: expected a float tensor, got int32 of shape ${shapeStr(t.shape)}`);
}

export function assertSameDtype(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new Error(`${op}: dtype mismatch, ${a.dtype} ${shapeStr(a.shape)} vs ${b.dtype} ${shapeStr(b.shape)}; cast one first`);
  }
}

export function assertInt(op: string, t: Tensor): void {
  if (t.dtype !== 'int32') throw new Error(`${op}: expected int32 indices, got ${t.dtype} of shape ${shapeStr(t.shape)}`);
}

export function isFloat(dtype: DType): boolean {
  return dtype !== 'int32';
}
