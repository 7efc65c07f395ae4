// The CaMeLS losses: the weighted LM loss with the reference's B·(T−1) normaliser, the QA loss (HF
// mean CE over answer tokens) and the KL locality term.

import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { HfConfig } from '../models/hf-config.js';
import { causalLmLogits, type Params } from '../models/gpt.js';
import type { DeviceBatch } from './batch.js';

export interface ForwardMode {
  training?: boolean;
  dropoutSeed?: number;
}

/** Logits [B, T−1, V] that predict tokens 1..T−1. */
function shiftedLogits(logits: Tensor): Tensor {
  const [B, T, V] = logits.shape as [number, number, number];
  return E.slice(logits, [0, 0, 0], [B, T - 1, V]);
}

/**
 * L = (1 / (B·(T−1))) Σ_b Σ_{t<T−1} CE(logits[b,t], x[b,t+1]) · w[b,t+1] · m[b,t+1].
 * The normaliser counts pad positions (reference spec 2.1); weights w [B, T].
 */
export function weightedLmLoss(cfg: HfConfig, params: Params, batch: DeviceBatch, w: Tensor, mode: ForwardMode = {}): Tensor {
  const { B, T } = batch.host;
  if (w.rank !== 2 || w.shape[0] !== B || w.shape[1] !== T) throw new Error(`weightedLmLoss: weights [${w.shape.join(', ')}] must be [${B}, ${T}]`);
  const logits = causalLmLogits(cfg, params, batch.ids, { attentionMask: batch.mask, ...mode });
  const ce = E.crossEntropy(shiftedLogits(logits), batch.targets); // [B, T−1], 0 on pads
  const wNext = E.slice(w, [0, 1], [B, T]);
  const mNext = E.slice(batch.mask, [0, 1], [B, T]);
  return E.mulScalar(E.sum(E.mul(ce, E.mul(wNext, mNext))), 1 / (B * (T - 1)));
}

/** HF causal-LM loss: mean CE over label positions ≠ −100 (labels shifted by one). */
export function qaLoss(cfg: HfConfig, params: Params, batch: DeviceBatch, mode: ForwardMode = {}): Tensor {
  const logits = causalLmLogits(cfg, params, batch.ids, { attentionMask: batch.mask, ...mode });
  return E.meanCrossEntropy(shiftedLogits(logits), batch.targets);
}

/** Σ_t m_t KL(softmax(pre_t) ‖ softmax(post_t)) / Σ_t m_t; gradient only through post. pre, post [B, T, V], mask [B, T]. */
export function klLocality(preLogits: Tensor, postLogits: Tensor, mask: Tensor): Tensor {
  const lp = E.noGrad(() => E.logSoftmax(preLogits));
  const lq = E.logSoftmax(postLogits);
  const kl = E.sum(E.mul(E.noGrad(() => E.exp(lp)), E.sub(lp, lq)), -1); // [B, T]
  return E.maskedMean(kl, mask);
}
