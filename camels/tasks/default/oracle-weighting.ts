// The oracle weighting of the embedded default: weight 1 on the tokens of each document's answer
// spans (which the synthetic generator records), 0 elsewhere. It is not a method — no real stream
// comes with its answers — but a reference row: how much any token weighting could gain under the
// evaluation protocol (Adam, one step per document), which tells a reader whether a weak CaMeLS
// result comes from the weights CaMeLS learned or from the protocol's headroom.

import * as E from '../../../engine/index.js';
import { overlaps } from '../../answer-metrics.js';
import type { HfTokenizer } from '../../../models/tokenizer.js';
import type { DeviceBatch } from '../../batch.js';
import type { SyntheticDocument } from '../../data/synthetic.js';
import { tokenCharSpans } from '../../weighting/char-spans.js';
import type { TokenWeighting } from '../../weighting/weighters.js';

/** 1 on tokens overlapping an answer span of the document, 0 elsewhere; documents are found by their text. */
export function oracleWeighting(tok: HfTokenizer, documents: readonly SyntheticDocument[]): TokenWeighting {
  const byText = new Map(documents.map((d) => [d.text, d]));
  const rows = (batch: DeviceBatch): Float32Array => {
    const { B, T, ids, mask } = batch.host;
    const out = new Float32Array(B * T); // [B, T]
    for (let b = 0; b < B; b++) {
      const real: number[] = [];
      for (let t = 0; t < T; t++) if (mask[b * T + t]) real.push(ids[b * T + t]!);
      const pieces = tok.decodeEach(real);
      const doc = byText.get(pieces.join(''));
      if (!doc) throw new Error('oracle weighting: a batch row is not one of the documents it was given');
      const answers = doc.questions.map((q) => q.span);
      tokenCharSpans(pieces).forEach((s, t) => {
        if (answers.some((a) => overlaps(a, s))) out[b * T + t] = 1;
      });
    }
    return out;
  };
  const toTensor = (batch: DeviceBatch) => E.tensor(rows(batch), [batch.host.B, batch.host.T], { dtype: batch.mask.dtype, device: batch.mask.device });
  return {
    name: 'oracle',
    weights: toTensor,
    hostWeights: async (batch) => {
      const r = rows(batch);
      const { B, T, mask } = batch.host;
      return Array.from({ length: B }, (_, b) => Array.from(r.subarray(b * T, (b + 1) * T)).filter((_, t) => mask[b * T + t]));
    },
  };
}
