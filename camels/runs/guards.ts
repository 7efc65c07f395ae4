// Non-finite guards for training and adaptation loops: the loops read their losses and gradient
// norms together in the readbacks they already make, and call checkFinite on what they read; a NaN
// or Inf stops the run with the task, step, the settings that matter and the last good checkpoint.

import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';

export class NonFiniteError extends Error {
  constructor(
    readonly task: string,
    readonly step: number,
    readonly what: string,
    readonly settings: Record<string, number | string>,
    readonly lastGood: string | null,
  ) {
    const keys = Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(', ');
    super(
      `${task}: ${what} is not finite at step ${step} (${keys}); the run diverged — lower the learning rate` +
        (lastGood ? `; the last good checkpoint is ${lastGood}` : '; no checkpoint was written'),
    );
    this.name = 'NonFiniteError';
  }
}

/** Throw NonFiniteError if any named value is NaN or ±Inf. */
export function checkFinite(values: Record<string, number>, ctx: { task: string; step: number; settings: Record<string, number | string>; lastGood: string | null }): void {
  for (const [what, v] of Object.entries(values)) {
    if (!Number.isFinite(v)) throw new NonFiniteError(ctx.task, ctx.step, `${what} (${v})`, ctx.settings, ctx.lastGood);
  }
}

export { countNonFinite } from '../../models/pretrained.js';

/** Σ‖g‖² over a gradient list, as a device scalar (non-finite once any entry is). */
export function squaredNorm(gs: readonly Tensor[]): Tensor {
  return gs.map((g) => E.sum(E.mul(g, g))).reduce((a, b) => E.add(a, b));
}
