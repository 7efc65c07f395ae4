// Readbacks that do not wait: readLater packs scalars into one tensor and starts its readback at
// once — on webgpu the copy is recorded, the batch submitted and the staging buffer's map
// requested before this returns (engine/webgpu/runtime.ts `read` does all three before its first
// await) — so the caller can record the next step's work and await the values afterwards, and a
// real GPU never idles waiting for the host to read a loss.

import { concat, reshape } from './ops/index.js';
import { noGrad, tidy } from './scope.js';
import type { Tensor } from './tensor.js';

/**
 * One readback of the values of several scalar (one-element) tensors, started now. The tensors may
 * be disposed as soon as this returns. A rejection is also observed here, so a readback awaited
 * much later is not reported as unhandled in the meantime.
 */
export function readLater(xs: readonly Tensor[]): Promise<number[]> {
  if (xs.length === 0) return Promise.resolve([]);
  for (const x of xs) {
    if (x.size !== 1) throw new Error(`readLater: expected one-element tensors, got shape [${x.shape.join(', ')}]`);
  }
  const packed = tidy(() => noGrad(() => concat(xs.map((x) => reshape(x, [1])), 0))); // [n]
  const started = packed.data();
  packed.dispose();
  const values = started.then((d) => Array.from(d));
  values.catch(() => undefined);
  return values;
}
