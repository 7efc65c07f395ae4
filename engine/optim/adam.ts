// Adam / AdamW as fused in-place updates (never differentiated), with optional global-norm clipping
// applied on the device. State (m, v) lives beside each parameter and can be saved for resume.

import { zerosLike } from '../ops/creation.js';
import { keep, tidy } from '../scope.js';
import { Tensor, shapeStr } from '../tensor.js';
import { clipCoefficient } from './clip.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (AdamW); 0 = plain Adam. */
  weightDecay?: number;
  /** Clip the global gradient norm to this value before the update (none when undefined). */
  maxGradNorm?: number;
}

export class Adam {
  readonly params: Tensor[];
  readonly m: Tensor[];
  readonly v: Tensor[];
  stepCount = 0;
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number | undefined;

  constructor(params: readonly Tensor[], opts: AdamOptions) {
    this.params = [...params];
    this.lr = opts.lr;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.maxGradNorm = opts.maxGradNorm;
    this.m = this.params.map((p) => keep(zerosLike(p)));
    this.v = this.params.map((p) => keep(zerosLike(p)));
  }

  /**
   * Update every parameter in place from grads (same order as params). Returns the pre-clip global
   * gradient norm as a device tensor when clipping is on (read it only when you need to log it).
   */
  step(grads: readonly Tensor[]): Tensor | null {
    if (grads.length !== this.params.length) throw new Error(`Adam.step: ${grads.length} gradients for ${this.params.length} parameters`);
    grads.forEach((g, i) => {
      const p = this.params[i]!;
      if (g.size !== p.size) throw new Error(`Adam.step: gradient ${shapeStr(g.shape)} does not match parameter ${p.name ?? i} ${shapeStr(p.shape)}`);
    });
    this.stepCount++;
    return tidy(() => {
      const clip = this.maxGradNorm !== undefined ? clipCoefficient(grads, this.maxGradNorm) : null;
      const scale = clip ? clip.coef.storageFor('Adam.step') : null;
      const spec = { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay, step: this.stepCount };
      this.params.forEach((p, i) => {
        p.backend.adamStep(p.storageFor('Adam.step'), grads[i]!.storageFor('Adam.step'), this.m[i]!.storageFor('Adam.step'), this.v[i]!.storageFor('Adam.step'), scale, spec);
      });
      return clip ? clip.norm : null;
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}
