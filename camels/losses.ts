// The CaMeLS losses: the weighted LM loss with the reference's B·(T−1) normaliser, the QA loss (HF
// mean CE over answer tokens) and the KL locality term.

import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { HfConfig } from '../models/hf-config.js';
import { lmHead, transformerForward, type Params } from '../models/gpt.js';
import type { DeviceBatch } from './batch.js';

export interface ForwardMode {
  training?: boolean;
  dropoutSeed?: number;
}

/**
 * Logits [B, T−1, V] of positions 0..T−2 (the last position predicts nothing): the hidden states
 * are sliced before the LM head, so no [B, T, V] logits are made and copied (with a [B, T, V] pad in
 * their backward) — at GPT-2 scale that is 400 MiB per copy for a batch of 8 × 256.
 */
function shiftedLmLogits(cfg: HfConfig, params: Params, batch: DeviceBatch, mode: ForwardMode): Tensor {
  const hidden = transformerForward(cfg, params, batch.ids, { attentionMask: batch.mask, ...mode }).hidden;
  const [B, T, D] = hidden.shape as [number, number, number];
  return lmHead(cfg, params, E.slice(hidden, [0, 0, 0], [B, T - 1, D]));
}

/**
 * L = (1 / (B·(T−1))) Σ_b Σ_{t<T−1} CE(logits[b,t], x[b,t+1]) · w[b,t+1] · m[b,t+1].
 * The normaliser counts pad positions (reference spec 2.1); weights w [B, T].
 */
export function weightedLmLoss(cfg: HfConfig, params: Params, batch: DeviceBatch, w: Tensor, mode: ForwardMode = {}): Tensor {
  const { B, T } = batch.host;
  if (w.rank !== 2 || w.shape[0] !== B || w.shape[1] !== T) throw new Error(`weightedLmLoss: weights [${w.shape.join(', ')}] must be [${B}, ${T}]`);
  const ce = E.crossEntropy(shiftedLmLogits(cfg, params, batch, mode), batch.targets); // [B, T−1], 0 on pads
  const wNext = E.slice(w, [0, 1], [B, T]);
  const mNext = E.slice(batch.mask, [0, 1], [B, T]);
  return E.mulScalar(E.sum(E.mul(ce, E.mul(wNext, mNext))), 1 / (B * (T - 1)));
}

/** HF causal-LM loss: mean CE over label positions ≠ −100 (labels shifted by one). */
export function qaLoss(cfg: HfConfig, params: Params, batch: DeviceBatch, mode: ForwardMode = {}): Tensor {
  return E.meanCrossEntropy(shiftedLmLogits(cfg, params, batch, mode), batch.targets);
}

/** Σ_t m_t KL(softmax(pre_t) ‖ softmax(post_t)) / Σ_t m_t; gradient only through post. pre, post [B, T, V], mask [B, T]. */
export function klLocality(preLogits: Tensor, postLogits: Tensor, mask: Tensor): Tensor {
  const lp = E.noGrad(() => E.logSoftmax(preLogits));
  const lq = E.logSoftmax(postLogits);
  const kl = E.sum(E.mul(E.noGrad(() => E.exp(lp)), E.sub(lp, lq)), -1); // [B, T]
  return E.maskedMean(kl, mask);
}
