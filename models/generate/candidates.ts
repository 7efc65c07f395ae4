// Beam candidates from per-row top-k reads: the best n of score(entry i, token t) over entries ×
// vocabulary, exactly as a host loop over every token would find them (models/generate/topk.ts's
// TopK fed in ascending flat index i·V + t, so ties go to the lower index and NaN never enters),
// while reading only the best k tokens of each entry's row.
//
// Why exact: an unread token of a row has a log-prob at most the row's k-th read one (`last`), so
// its score is at most bound(last, i). When every entry's bound is below the n-th selected score,
// no unread token could have been selected; otherwise k doubles (up to V) and the rows are read
// again. Scores stay in float64 on the host (a beam's accumulated score plus a float32 log-prob, as
// before), which is why the beam score is not added on the device: a float32 sum there would
// round differently and could reorder near-ties.

import type { NextTokens } from './next-tokens.js';
import { TopK } from './topk.js';

export interface CandidateEntry {
  /** Row of the NextTokens holding this entry's distribution. */
  row: number;
}

export interface CandidateScoring<T extends CandidateEntry> {
  /** Score of token t with log-prob v for entry e (as the host loop computed it). */
  score(v: number, t: number, e: T): number;
  /** At least score(v', t', e) for every log-prob v' <= v and every token t'. */
  bound(v: number, e: T): number;
}

/** The best n candidates, flat index i·V + t, best first (fewer than n only when NaNs crowd them out). */
export async function bestCandidates<T extends CandidateEntry>(
  next: NextTokens,
  entries: readonly T[],
  n: number,
  firstK: number,
  scoring: CandidateScoring<T>,
): Promise<TopK> {
  const V = next.vocab;
  let k = Math.min(V, Math.max(1, firstK));
  for (;;) {
    const top = await next.top(k);
    const flat: number[] = [];
    const score: number[] = [];
    entries.forEach((e, i) => {
      for (let j = 0; j < k; j++) {
        const v = top.values[e.row * k + j]!;
        if (Number.isNaN(v)) break; // NaNs come last
        flat.push(i * V + top.tokens[e.row * k + j]!);
        score.push(scoring.score(v, top.tokens[e.row * k + j]!, e));
      }
    });
    const order = flat.map((_, c) => c).sort((a, b) => flat[a]! - flat[b]!);
    const best = new TopK(n);
    for (const c of order) best.push(score[c]!, flat[c]!);
    if (k === V) return best;
    const full = best.values.length === n;
    const exact = entries.every((e) => {
      const last = top.values[e.row * k + k - 1]!;
      if (Number.isNaN(last)) return true; // every number of the row was read
      return full && scoring.bound(last, e) < best.threshold;
    });
    if (exact) return best;
    k = Math.min(V, 2 * k);
  }
}
