// The CaMeLS inner loop: sequential, differentiable SGD on the weighted LM loss, one step per
// document (reference spec 2.2). With createGraph the result stays on the tape, so the outer loss
// can be differentiated back to the weights w (exact second order, no first-order shortcut).

import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { HfConfig } from '../models/hf-config.js';
import type { Params } from '../models/gpt.js';
import { mixSeed } from '../models/seeds.js';
import { sliceBatch, batchToDevice, type DeviceBatch } from './batch.js';
import { weightedLmLoss } from './losses.js';

export interface InnerLoopOptions {
  lr: number;
  /** Passes over the documents (num_inner_steps, default 1). */
  steps?: number;
  /** One step per document (default, as the reference) or one step on the batch loss. */
  sequential?: boolean;
  /** Record the updates for the meta-gradient (training) or not (validation). */
  createGraph: boolean;
  /** Dropout on during the updates (the reference keeps the base model in train mode). */
  training?: boolean;
  dropoutSeed?: number;
}

/** θ after SGD on the weighted loss of docs (rows of `docs`) with weights w [B, T]. */
export function innerLoop(cfg: HfConfig, theta0: Params, docs: DeviceBatch, w: Tensor, opts: InnerLoopOptions): Params {
  const keys = Object.keys(theta0);
  const steps = opts.steps ?? 1;
  const sequential = opts.sequential ?? true;
  const B = docs.host.B;
  let theta: Params = theta0;
  let stepIndex = 0;
  const takeStep = (batch: DeviceBatch, wRows: Tensor) => {
    const mode = { training: opts.training ?? false, dropoutSeed: mixSeed(opts.dropoutSeed ?? 0, stepIndex++) };
    const loss = weightedLmLoss(cfg, theta, batch, wRows, mode);
    const gs = E.grad(loss, keys.map((k) => theta[k]!), { createGraph: opts.createGraph });
    const g: Params = {};
    keys.forEach((k, i) => (g[k] = gs[i]!));
    const next = E.sgdStep(theta, g, opts.lr);
    if (!opts.createGraph) {
      // validation: no graph, so the new parameters are fresh leaves that still accept gradients
      for (const k of keys) next[k] = E.detach(next[k]!);
      for (const k of keys) next[k]!.requiresGrad = true;
    }
    theta = next;
  };
  for (let s = 0; s < steps; s++) {
    if (sequential) {
      for (let i = 0; i < B; i++) {
        const row = batchToDevice(sliceBatch(docs.host, i, i + 1), docs.mask.dtype, docs.ids.device);
        takeStep(row, E.slice(w, [i, 0], [i + 1, docs.host.T]));
      }
    } else takeStep(docs, w);
  }
  return theta;
}
