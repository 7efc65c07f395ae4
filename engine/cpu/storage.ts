// Cpu storage: a reference-counted TypedArray plus the live-allocation counter used by leak tests.
// Every cpu kernel reads its inputs through `dataOf`, which rejects foreign and freed storages.

import type { DType, Storage, TypedArray } from '../backend.js';
import { toInt32 } from './scalar.js';

/**
 * Optional recycling of float32 arrays (the fast path installs one, engine/cpu-fast/array-pool.ts):
 * `take` returns a zero-filled array of that length or null, `give` receives a freed storage's array.
 */
export interface Float32Recycler {
  take(length: number): Float32Array | null;
  give(a: Float32Array): void;
}

let recycler: Float32Recycler | null = null;

/** Install (or remove, with null) the float32 recycler; returns the previous one. */
export function setFloat32Recycler(r: Float32Recycler | null): Float32Recycler | null {
  const prev = recycler;
  recycler = r;
  return prev;
}

/** Shared by all storages of one CpuBackend: number of allocated, not yet freed storages. */
export interface LiveCounter {
  live: number;
}

export class CpuStorage implements Storage {
  readonly backend = 'cpu' as const;
  readonly size: number;
  refs = 1;
  /** Set by free(); a freed storage may not be read, written or freed again. */
  freed = false;

  constructor(
    readonly dtype: DType,
    readonly data: TypedArray,
    private readonly counter: LiveCounter,
  ) {
    this.size = data.length;
    counter.live++;
  }

  /** Release the memory; throws when called twice. */
  free(op = 'free'): void {
    if (this.freed) throw new Error(`cpu ${op}: storage (${this.dtype}[${this.size}]) was already freed`);
    this.freed = true;
    this.counter.live--;
    if (recycler && this.data instanceof Float32Array) recycler.give(this.data);
  }
}

/** A zero-filled array of `size` elements of `dtype`. */
export function allocArray(dtype: DType, size: number): TypedArray {
  if (!Number.isInteger(size) || size < 0) throw new Error(`cpu alloc: size must be a non-negative integer, got ${size}`);
  switch (dtype) {
    case 'float32':
      return recycler?.take(size) ?? new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
    default:
      throw new Error(`cpu alloc: unknown dtype '${String(dtype)}'`);
  }
}

/** Copy `src` into a new array of `dtype` (float → int32 truncates toward zero, saturating). */
export function convertArray(src: ArrayLike<number>, dtype: DType): TypedArray {
  const out = allocArray(dtype, src.length);
  if (dtype === 'int32' && !(src instanceof Int32Array)) {
    for (let i = 0; i < src.length; i++) out[i] = toInt32(src[i]);
  } else {
    out.set(src as ArrayLike<number>);
  }
  return out;
}

/** The backing array of a cpu storage, checked to be live; `op` names the caller in errors. */
export function dataOf(s: Storage, op: string): TypedArray {
  if (!(s instanceof CpuStorage)) {
    throw new Error(`cpu ${op}: expected a cpu storage, got one from backend '${s?.backend}'`);
  }
  if (s.freed) throw new Error(`cpu ${op}: storage (${s.dtype}[${s.size}]) was used after free`);
  return s.data;
}

/** Synchronous access to a cpu storage's array (shared, not copied) for tests and host-side engine code. */
export function cpuData(s: Storage): TypedArray {
  return dataOf(s, 'cpuData');
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** Throw unless `s` has a float dtype. */
export function requireFloat(s: Storage, op: string, what: string): void {
  if (!isFloat(s.dtype)) throw new Error(`cpu ${op}: ${what} must be float32 or float64, got ${s.dtype}`);
}

/** Throw unless `s` is int32. */
export function requireInt32(s: Storage, op: string, what: string): void {
  if (s.dtype !== 'int32') throw new Error(`cpu ${op}: ${what} must be int32, got ${s.dtype}`);
}

/** Throw unless `s` holds exactly `size` elements. */
export function requireSize(s: Storage, size: number, op: string, what: string): void {
  if (s.size !== size) throw new Error(`cpu ${op}: ${what} has ${s.size} elements, expected ${size}`);
}

/** Throw unless all storages share one dtype. */
export function requireSameDtype(op: string, ...pairs: [string, Storage][]): void {
  const [name0, s0] = pairs[0];
  for (const [name, s] of pairs.slice(1)) {
    if (s.dtype !== s0.dtype) throw new Error(`cpu ${op}: ${name} is ${s.dtype} but ${name0} is ${s0.dtype}`);
  }
}
