// WebGPU storage: a pooled device buffer holding `size` elements of a 32-bit dtype.

import type { DType, Storage } from '../backend.js';
import type { GpuBuffer } from './pool.js';

export const FLOAT64_UNSUPPORTED = 'webgpu: float64 is not supported; use the cpu device for float64';

export class WebGPUStorage implements Storage {
  readonly backend = 'webgpu' as const;
  refs = 1;
  /** null once freed. */
  buf: GpuBuffer | null;
  constructor(
    readonly size: number,
    readonly dtype: DType,
    buf: GpuBuffer,
  ) {
    this.buf = buf;
  }
}

/** The live buffer of a webgpu storage (throws for other backends or freed storages). */
export function gpuBuf(s: Storage, what = 'storage'): GpuBuffer {
  if (!(s instanceof WebGPUStorage)) throw new Error(`webgpu: ${what} is not a webgpu storage (backend ${s.backend})`);
  if (!s.buf) throw new Error(`webgpu: ${what} was already freed`);
  return s.buf;
}

export function checkDType(dtype: DType, op: string): void {
  if (dtype === 'float64') throw new Error(`${FLOAT64_UNSUPPORTED} (${op})`);
  if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`webgpu: ${op}: unknown dtype ${String(dtype)}`);
}

/** WGSL element type of a dtype. */
export function wgslType(dtype: DType): 'f32' | 'i32' {
  checkDType(dtype, 'kernel');
  return dtype === 'int32' ? 'i32' : 'f32';
}
