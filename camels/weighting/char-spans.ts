// Mapping character-level scores back to tokens, as the reference's SSM and TF-IDF baselines do
// (spec §1.4, §1.5): each real token is decoded on its own, the pieces are concatenated into the text,
// a score is computed per character of that text, and a token's weight is the MAX over its characters.
// A token whose piece is empty (it decodes to nothing) gets 0. All offsets are UTF-16 code units; the
// reference counts code points, which gives the same per-token maxima because both sides use one unit.

/** Half-open character span [start, end) of one token in the concatenated text. */
export interface CharSpan {
  start: number;
  end: number;
}

/** Spans of each piece in `pieces.join('')`. */
export function tokenCharSpans(pieces: readonly string[]): CharSpan[] {
  const spans: CharSpan[] = [];
  let offset = 0;
  for (const piece of pieces) {
    spans.push({ start: offset, end: offset + piece.length });
    offset += piece.length;
  }
  return spans;
}

/**
 * Token weight = max of `charScores` over the token's characters; 0 for an empty span.
 * `charScores` must have one entry per character of `pieces.join('')`.
 */
export function tokenWeightsFromCharScores(pieces: readonly string[], charScores: ArrayLike<number>): Float64Array {
  const spans = tokenCharSpans(pieces);
  const textLength = spans.length === 0 ? 0 : spans[spans.length - 1]!.end;
  if (charScores.length !== textLength) {
    throw new Error(`tokenWeightsFromCharScores: ${charScores.length} character scores for a text of ${textLength} characters`);
  }
  const weights = new Float64Array(pieces.length);
  spans.forEach(({ start, end }, t) => {
    let best = 0;
    for (let c = start; c < end; c++) {
      const v = charScores[c]!;
      if (c === start || v > best) best = v;
    }
    weights[t] = best;
  });
  return weights;
}

/** Right-pad per-token weights with zeros to `paddedLength` (pads get weight 0), as float32. */
export function padWeights(weights: ArrayLike<number>, paddedLength: number): Float32Array {
  if (weights.length > paddedLength) {
    throw new Error(`padWeights: ${weights.length} real tokens exceed the padded length ${paddedLength}; truncate first`);
  }
  const out = new Float32Array(paddedLength);
  for (let i = 0; i < weights.length; i++) out[i] = weights[i]!;
  return out;
}
