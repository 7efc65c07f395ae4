// Dropout keep-masks on the device (shaders/dropoutMask.wgsl), bit-identical to engine/random.ts.

import { dropThreshold } from '../random.js';
import { valueBits } from './elementwise.js';
import type { Binding, Runtime } from './runtime.js';
import { forEachElementPiece } from './windows.js';

const WG = 256;

export function runDropoutMask(rt: Runtime, size: number, p: number, seed: number, y: Binding): void {
  let threshold: number;
  try {
    threshold = dropThreshold(p);
  } catch (e) {
    throw new Error(`webgpu dropoutMask: ${(e as Error).message}`);
  }
  if (size === 0) return;
  const scaleBits = valueBits(1 / (1 - p), 'float32');
  const k = rt.kernel({ file: 'dropoutMask.wgsl', entry: 'dropoutMask', bindings: 'w' });
  forEachElementPiece(rt, size, [y], (b, start, count) => {
    const [gx, gy] = rt.grid(Math.ceil(count / WG));
    rt.dispatch(k, b, (w) => w.u(count).u(seed >>> 0).u(threshold).u(scaleBits).u(start), gx, gy);
  });
}
