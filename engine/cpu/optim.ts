// In-place optimizer steps: Adam / AdamW (PyTorch semantics, bias-corrected) and plain SGD, with an
// optional 1-element gradient scale storage (for clipping without a readback).

import type { AdamSpec, Storage } from '../backend.js';
import { dataOf } from './storage.js';

function gradScaleOf(gradScale: Storage | null, op: string): number {
  if (!gradScale) return 1;
  const G = dataOf(gradScale, op);
  if (G.length < 1) throw new Error(`cpu ${op}: gradScale must have one element, got ${G.length}`);
  return G[0];
}

export function adamStep(
  param: Storage,
  grad: Storage,
  m: Storage,
  v: Storage,
  gradScale: Storage | null,
  spec: AdamSpec,
): void {
  const P = dataOf(param, 'adamStep');
  const G = dataOf(grad, 'adamStep');
  const Mm = dataOf(m, 'adamStep');
  const Vv = dataOf(v, 'adamStep');
  const { lr, beta1, beta2, eps, weightDecay, step } = spec;
  const scale = gradScaleOf(gradScale, 'adamStep');
  const bc1 = 1 - Math.pow(beta1, step);
  const bc2 = 1 - Math.pow(beta2, step);
  const decay = weightDecay > 0 ? lr * weightDecay : 0;
  for (let i = 0; i < P.length; i++) {
    const g = G[i] * scale;
    let p = P[i];
    if (decay !== 0) p -= decay * p; // decoupled (AdamW)
    Mm[i] = beta1 * Mm[i] + (1 - beta1) * g;
    Vv[i] = beta2 * Vv[i] + (1 - beta2) * g * g;
    // use the stored (dtype-rounded) moments, as PyTorch's in-place update does
    const mhat = Mm[i] / bc1;
    const vhat = Vv[i] / bc2;
    P[i] = p - (lr * mhat) / (Math.sqrt(vhat) + eps);
  }
}

export function sgdStepInPlace(param: Storage, grad: Storage, lr: number, gradScale: Storage | null): void {
  const P = dataOf(param, 'sgdStepInPlace');
  const G = dataOf(grad, 'sgdStepInPlace');
  const scale = gradScaleOf(gradScale, 'sgdStepInPlace');
  for (let i = 0; i < P.length; i++) P[i] = P[i] - lr * G[i] * scale;
}
