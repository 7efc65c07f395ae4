// The token weightings compared at evaluation (reference spec 1.2–1.5) behind one interface:
// uniform (fine-tuning), SSM (salient spans), TF-IDF, and a learned CaMeLS weight model.

import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import type { HfTokenizer } from '../../models/tokenizer.js';
import type { DeviceBatch } from '../batch.js';
import { tokenWeights, type CamelsWeightModel } from '../weight-model.js';
import { ssmWeights } from './ssm.js';
import { TfidfWeighter } from './tfidf.js';

/** 'oracle' is the embedded default's reference row: weight on the generator's answer spans only. */
export type WeightingName = 'uniform' | 'ssm' | 'tfidf' | 'CaMeLS' | 'oracle';

export interface TokenWeighting {
  readonly name: WeightingName;
  /** Weights [B, T] for a batch of right-padded documents (no gradient). */
  weights(batch: DeviceBatch): Tensor;
  /** Host weights of one document's real tokens, for reports. */
  hostWeights(batch: DeviceBatch): Promise<number[][]>;
}

function pieces(tok: HfTokenizer, batch: DeviceBatch): string[][] {
  const { B, T, ids, mask } = batch.host;
  return Array.from({ length: B }, (_, b) => {
    const real: number[] = [];
    for (let t = 0; t < T; t++) if (mask[b * T + t]) real.push(ids[b * T + t]!);
    return tok.decodeEach(real);
  });
}

function fromHost(batch: DeviceBatch, rows: Float32Array): Tensor {
  return E.tensor(rows, [batch.host.B, batch.host.T], { dtype: batch.mask.dtype, device: batch.mask.device });
}

async function readRows(t: Tensor, batch: DeviceBatch): Promise<number[][]> {
  const d = await t.data();
  const { B, T, mask } = batch.host;
  return Array.from({ length: B }, (_, b) => Array.from(d.subarray(b * T, (b + 1) * T)).filter((_, t) => mask[b * T + t]));
}

function hostWeighting(name: WeightingName, compute: (batch: DeviceBatch) => Float32Array): TokenWeighting {
  return {
    name,
    weights: (batch) => fromHost(batch, compute(batch)),
    hostWeights: async (batch) => E.tidyAsync(async () => readRows(fromHost(batch, compute(batch)), batch)),
  };
}

export function uniformWeighting(): TokenWeighting {
  return {
    name: 'uniform',
    weights: (batch) => E.mulScalar(batch.mask, 1),
    hostWeights: async (batch) => E.tidyAsync(async () => readRows(E.mulScalar(batch.mask, 1), batch)),
  };
}

export function ssmWeighting(tok: HfTokenizer): TokenWeighting {
  return hostWeighting('ssm', (batch) => {
    const out = new Float32Array(batch.host.B * batch.host.T);
    pieces(tok, batch).forEach((p, b) => out.set(ssmWeights(p, batch.host.T), b * batch.host.T));
    return out;
  });
}

export function tfidfWeighting(tok: HfTokenizer, corpus: readonly string[], minThreshold: number | null): TokenWeighting {
  const tfidf = new TfidfWeighter(corpus, { minThreshold });
  return hostWeighting('tfidf', (batch) => tfidf.weightsBatch(pieces(tok, batch), batch.host.T));
}

export function camelsWeighting(wm: CamelsWeightModel): TokenWeighting {
  // eval mode: no dropout in the weight model (spec 9.11)
  const w = (batch: DeviceBatch) => E.noGrad(() => tokenWeights(wm, wm.params, batch.ids, batch.mask));
  return { name: 'CaMeLS', weights: w, hostWeights: async (batch) => E.tidyAsync(async () => readRows(w(batch), batch)) };
}
