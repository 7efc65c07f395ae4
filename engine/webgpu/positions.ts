// Position kernels (shaders/arange.wgsl, shaders/rotaryTable.wgsl): ranges made on the device in
// place of uploaded position ids, and rotary cos / sin tables of int32 positions.

import type { DType } from '../backend.js';
import type { Binding, Runtime } from './runtime.js';
import { wgslType } from './storage.js';
import { fitsWhole, forEachElementPiece } from './windows.js';

const WG = 256;
/** Most frequencies a rotary table takes (12 vec4 in its uniform; GPT-J 6B has 32). */
export const ROTARY_MAX_FREQS = 48;

/** y[i] = start + (i mod period) · step over n elements of dtype. */
export function runArange(rt: Runtime, y: Binding, n: number, dtype: DType, start: number, step: number, period: number): void {
  const t = wgslType(dtype);
  const k = rt.kernel({ file: 'arange.wgsl', entry: t === 'i32' ? 'arangeInt32' : 'arangeFloat32', bindings: 'w', aliases: { T: t } });
  forEachElementPiece(rt, n, [y], (b, first, count) => {
    const [gx, gy] = rt.grid(Math.ceil(count / WG));
    rt.dispatch(k, b, (w) => w.u(count).u(period).u(first % period).u(0).i(start).i(step).f(start).f(step), gx, gy);
  });
}

/** out [n, 2·invFreq.length] (float32): cos or sin of positions[p] · invFreq[i], each pair repeated. */
export function runRotaryTable(rt: Runtime, positions: Binding, y: Binding, n: number, invFreq: readonly number[], fn: 'cos' | 'sin'): void {
  if (invFreq.length > ROTARY_MAX_FREQS) throw new Error(`webgpu rotaryTable: at most ${ROTARY_MAX_FREQS} frequencies (rotary dim ${2 * ROTARY_MAX_FREQS}), got ${invFreq.length}`);
  if (!fitsWhole(rt, positions) || !fitsWhole(rt, y)) throw new Error(`webgpu rotaryTable: a ${n}-position table does not fit one binding`);
  const k = rt.kernel({ file: 'rotaryTable.wgsl', entry: 'rotaryTable', bindings: 'rw' });
  const count = n * 2 * invFreq.length;
  const [gx, gy] = rt.grid(Math.ceil(count / WG));
  rt.dispatch(
    k,
    [positions, y],
    (w) => {
      w.u(count).u(invFreq.length).u(fn === 'cos' ? 0 : 1).u(0);
      for (let i = 0; i < 4 * 12; i++) w.f(i < invFreq.length ? invFreq[i]! : 0);
    },
    gx,
    gy,
  );
}
