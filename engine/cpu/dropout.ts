// Dropout keep-mask from the shared counter hash (engine/random.ts), bit-identical to the webgpu kernel.

import type { DType, TypedArray } from '../backend.js';
import { dropThreshold, hashU24 } from '../random.js';
import { allocArray } from './storage.js';

/** Element i = 1/(1-p) (rounded to dtype) when hashU24(seed, i) >= dropThreshold(p), else 0. */
export function dropoutMask(size: number, p: number, seed: number, dtype: DType): TypedArray {
  let threshold: number;
  try {
    threshold = dropThreshold(p);
  } catch (e) {
    throw new Error(`cpu dropoutMask: ${(e as Error).message}`);
  }
  const out = allocArray(dtype, size);
  const scale = 1 / (1 - p);
  for (let i = 0; i < size; i++) if (hashU24(seed, i) >= threshold) out[i] = scale;
  return out;
}
