// What the search algorithms read of a next-token distribution: the best k tokens of each row.
// The rows stay where they were computed (KvDecoder: on the device, selected there by E.topk, so
// a step reads back k ids and log-probs per row instead of the whole [rows, V] table);
// `hostNextTokens` serves rows held on the host (tests' table models) with the same contract.

import { TopK } from './topk.js';

/** The top k next tokens of each of R rows, best first: ties to the lower token id, NaN last. */
export interface TopTokens {
  rows: number;
  k: number;
  /** Log-probs [R * k], row-major, exactly the distribution's values. */
  values: Float32Array | Float64Array;
  /** Token ids [R * k]. */
  tokens: Int32Array;
}

/** Next-token log-probabilities of R rows over a vocabulary of V. */
export interface NextTokens {
  readonly rows: number;
  readonly vocab: number;
  /**
   * The top k (1 <= k <= vocab) of every row. May be called again (a larger k reads again; a
   * smaller one reuses what was read). Valid until the source's next step() or dispose().
   */
  top(k: number): Promise<TopTokens>;
}

/** Slice the first k columns of a wider top-k table. */
export function narrowTop(t: TopTokens, k: number): TopTokens {
  if (k === t.k) return t;
  const values = t.values instanceof Float32Array ? new Float32Array(t.rows * k) : new Float64Array(t.rows * k);
  const tokens = new Int32Array(t.rows * k);
  for (let r = 0; r < t.rows; r++) {
    values.set(t.values.subarray(r * t.k, r * t.k + k), r * k);
    tokens.set(t.tokens.subarray(r * t.k, r * t.k + k), r * k);
  }
  return { rows: t.rows, k, values, tokens };
}

export function checkTopK(k: number, vocab: number): void {
  if (!Number.isInteger(k) || k < 1 || k > vocab) throw new Error(`generate: top k must be an integer in [1, ${vocab}], got ${k}`);
}

/** Rows [rows * vocab] held on the host, selected with the host TopK (NaNs appended by id). */
export function hostNextTokens(rows: number, vocab: number, data: ArrayLike<number>): NextTokens {
  if (data.length !== rows * vocab) throw new Error(`generate: ${data.length} log-probs for ${rows} rows of ${vocab}`);
  return {
    rows,
    vocab,
    async top(k: number): Promise<TopTokens> {
      checkTopK(k, vocab);
      const values = new Float64Array(rows * k);
      const tokens = new Int32Array(rows * k);
      for (let r = 0; r < rows; r++) {
        const t = new TopK(k);
        for (let c = 0; c < vocab; c++) t.push(data[r * vocab + c]!, c);
        let j = 0;
        for (; j < t.values.length; j++) {
          values[r * k + j] = t.values[j]!;
          tokens[r * k + j] = t.indices[j]!;
        }
        for (let c = 0; c < vocab && j < k; c++) {
          if (Number.isNaN(data[r * vocab + c]!)) {
            values[r * k + j] = NaN;
            tokens[r * k + j++] = c;
          }
        }
      }
      return { rows, k, values, tokens };
    },
  };
}
