// Storage-level argument checks shared by every backend (cpu, cpu-fast, webgpu): sizes, dtypes,
// counts. A backend states its dtype rules once (DeviceRules); each op's check (arg-checks.ts) is
// written once against them, and the error names the device, the op, the argument and the shapes.

import type { DeviceName, DType, Storage } from '../backend.js';

/** What a device holds and which float dtypes its float kernels take. */
export interface DeviceRules {
  /** Message prefix ('cpu', 'webgpu'). */
  readonly device: DeviceName;
  /** Every dtype a storage of this device may have. */
  readonly dtypes: readonly DType[];
  /** The float dtypes float kernels take (cpu: float32 and float64; webgpu: float32). */
  readonly floats: readonly DType[];
  /** The message for a dtype the device does not hold at all (webgpu: float64). */
  unsupported(dtype: DType, op: string): string;
}

/** Throw unless the device holds `dtype`. */
export function requireDType(dev: DeviceRules, dtype: DType, op: string): void {
  if (!dev.dtypes.includes(dtype)) throw new Error(dev.unsupported(dtype, op));
}

/** Throw unless `dtype` is one of the device's float dtypes (`what` names the argument). */
export function requireFloatDType(dev: DeviceRules, dtype: DType, op: string, what: string): void {
  if (dev.floats.includes(dtype)) return;
  if (!dev.dtypes.includes(dtype)) throw new Error(dev.unsupported(dtype, op));
  throw new Error(`${dev.device} ${op}: ${what} must be ${dev.floats.join(' or ')}, got ${dtype}`);
}

/** Throw unless `s` holds one of the device's float dtypes. */
export function requireFloat(dev: DeviceRules, s: Storage, op: string, what: string): void {
  requireFloatDType(dev, s.dtype, op, what);
}

/** Throw unless `s` is int32. */
export function requireInt32(dev: DeviceRules, s: Storage, op: string, what: string): void {
  if (s.dtype !== 'int32') throw new Error(`${dev.device} ${op}: ${what} must be int32, got ${s.dtype}`);
}

/** Throw unless `s` holds exactly `size` elements. */
export function requireSize(dev: DeviceRules, s: Storage, size: number, op: string, what: string): void {
  if (s.size !== size) throw new Error(`${dev.device} ${op}: ${what} has ${s.size} elements, expected ${size}`);
}

/** Throw unless all storages share the first one's dtype. */
export function requireSameDType(dev: DeviceRules, op: string, ...pairs: [string, Storage][]): void {
  const [name0, s0] = pairs[0]!;
  for (const [name, s] of pairs.slice(1)) {
    if (s.dtype !== s0.dtype) throw new Error(`${dev.device} ${op}: ${name} is ${s.dtype} but ${name0} is ${s0.dtype}`);
  }
}

/** Throw unless `n` is a non-negative integer. */
export function requireCount(dev: DeviceRules, n: number, op: string, what: string): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${dev.device} ${op}: ${what} must be a non-negative integer, got ${n}`);
}

/** Elements of a shape; throws on a negative or fractional dim. */
export function shapeElements(dev: DeviceRules, shape: readonly number[], op: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${dev.device} ${op}: bad shape [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

/** Float storages of one dtype, each of `size` elements (the common case of the fused kernels). */
export function requireFloatsOfSize(dev: DeviceRules, op: string, size: number, dims: string, ...pairs: [string, Storage][]): void {
  for (const [what, s] of pairs) {
    requireFloat(dev, s, op, what);
    requireSize(dev, s, size, op, `${what} ${dims}`);
  }
  requireSameDType(dev, op, ...pairs);
}
