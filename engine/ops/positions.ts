// Rotary position tables (GPT-J): cos and sin of position · frequency, made on the device from
// int32 positions (device ranges included) so a forward pass uploads nothing.

import { Tensor, shapeStr } from '../tensor.js';
import { hasKernel } from '../op-table/fallback.js';
import { tensor } from './creation.js';
import { assertInt, storages } from './record.js';

/** 1 / base^(2i / rotaryDim) for i < rotaryDim / 2 (computed in float64). */
export function rotaryInvFreq(rotaryDim: number, base = 10000): number[] {
  return Array.from({ length: rotaryDim / 2 }, (_, i) => 1 / Math.pow(base, (2 * i) / rotaryDim));
}

/**
 * cos and sin tables [...positions.shape, rotaryDim] of int32 positions: entry (…, 2i) and
 * (…, 2i + 1) hold cos / sin(position · base^(−2i / rotaryDim)), each frequency repeated for its
 * pair. Constants of the graph (no gradient). float32 (webgpu computes the angle in float32, as
 * Hugging Face's GPT-J does) or float64 on cpu.
 */
export function rotaryTables(positions: Tensor, rotaryDim: number, opts: { dtype?: 'float32' | 'float64'; base?: number } = {}): { cos: Tensor; sin: Tensor } {
  const [ps] = storages('rotaryTables', positions);
  assertInt('rotaryTables', positions);
  if (!Number.isInteger(rotaryDim) || rotaryDim < 2 || rotaryDim % 2 !== 0) {
    throw new Error(`rotaryTables: rotaryDim must be a positive even integer, got ${rotaryDim}`);
  }
  const dtype = opts.dtype ?? 'float32';
  const invFreq = rotaryInvFreq(rotaryDim, opts.base);
  const shape = [...positions.shape, rotaryDim];
  const b = positions.backend;
  const n = positions.size;
  if (hasKernel(b, 'rotaryTable')) {
    const make = (fn: 'cos' | 'sin') => new Tensor(b.rotaryTable(ps!, n, invFreq, fn, dtype), shape, b);
    return { cos: make('cos'), sin: make('sin') };
  }
  const host = positions.hostInt;
  if (!host) throw new Error(`rotaryTables: the ${b.name} backend has no rotaryTable kernel and positions ${shapeStr(positions.shape)} are not known on the host`);
  const cos = new Float64Array(n * rotaryDim);
  const sin = new Float64Array(n * rotaryDim);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < invFreq.length; i++) {
      const ang = host[p]! * invFreq[i]!;
      const at = p * rotaryDim + 2 * i;
      cos[at] = cos[at + 1] = Math.cos(ang);
      sin[at] = sin[at + 1] = Math.sin(ang);
    }
  }
  const to = { dtype, device: positions.device };
  return { cos: tensor(cos, shape, to), sin: tensor(sin, shape, to) };
}
