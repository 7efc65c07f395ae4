// The CaMeLS outer objective (reference spec 2.3): after the inner loop, QA loss of the adapted
// model plus c_kl · KL(θ₀ ‖ θ_final) on a locality passage.

import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { HfConfig } from '../models/hf-config.js';
import { causalLmLogits, type Params } from '../models/gpt.js';
import type { DeviceBatch } from './batch.js';
import { innerLoop, type InnerLoopOptions } from './inner-loop.js';
import { klLocality, qaLoss } from './losses.js';

export interface MetaBatch {
  docs: DeviceBatch;
  qa: DeviceBatch;
  /** Locality passage(s), or null when c_kl = 0. */
  loc: DeviceBatch | null;
}

export interface MetaOptions extends InnerLoopOptions {
  cKl: number;
  /** Dropout seed for the θ₀ locality logits (the reference leaves the base in train mode there). */
  preLogitsTraining?: boolean;
}

export interface MetaResult {
  total: Tensor;
  qaLoss: Tensor;
  kl: Tensor | null;
  /** θ after the inner loop (carried forward between batches by the trainer, detached). */
  theta: Params;
}

export function metaObjective(cfg: HfConfig, theta0: Params, batch: MetaBatch, w: Tensor, opts: MetaOptions): MetaResult {
  const theta = innerLoop(cfg, theta0, batch.docs, w, opts);
  const lqa = qaLoss(cfg, theta, batch.qa); // eval mode: dropout off
  let total = lqa;
  let kl: Tensor | null = null;
  if (batch.loc && opts.cKl !== 0) {
    const loc = batch.loc;
    const pre = E.noGrad(() =>
      causalLmLogits(cfg, theta0, loc.ids, { attentionMask: loc.mask, training: opts.preLogitsTraining ?? false, dropoutSeed: (opts.dropoutSeed ?? 0) ^ 0x5bd1e995 }),
    );
    const post = causalLmLogits(cfg, theta, loc.ids, { attentionMask: loc.mask });
    kl = klLocality(pre, post, loc.mask);
    total = E.add(lqa, E.mulScalar(kl, opts.cKl));
  }
  return { total, qaLoss: lqa, kl, theta };
}
