// Per-token weights of a few documents under some weightings, for the report's colour maps.

import type { DType, DeviceName } from '../../engine/index.js';
import type { HfTokenizer } from '../../models/tokenizer.js';
import { padBatch, batchToDevice } from '../batch.js';
import { specialIds, tokenizeDocument } from '../tasks/tokenize.js';
import type { TokenWeighting } from '../weighting/weighters.js';
import type { ReportInput } from './report.js';

export async function sampleTokenWeights(tok: HfTokenizer, texts: string[], T: number, weightings: TokenWeighting[], device: DeviceName, dtype: DType): Promise<ReportInput['samples']> {
  const { pad } = specialIds(tok);
  const out: ReportInput['samples'] = [];
  for (const text of texts) {
    const ids = tokenizeDocument(tok, text, T).ids;
    const batch = batchToDevice(padBatch([ids], T, pad), dtype, device);
    const weights: Record<string, number[]> = {};
    for (const w of weightings) weights[w.name] = (await w.hostWeights(batch))[0]!;
    out.push({ tokens: tok.decodeEach(ids), weights });
    for (const t of [batch.ids, batch.mask, batch.targets]) t.dispose();
  }
  return out;
}
