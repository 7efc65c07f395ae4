// Right truncation of token sequences to the context length (the reference tokenises documents with
// `truncation=True, max_length=1024`, silently). These helpers make the cut visible: they say how many
// tokens and sequences were dropped so callers can log it.

export interface Truncated<T> {
  tokens: T[];
  /** Tokens removed from the end (0 when the sequence fit). */
  removed: number;
}

/** Keep the first `maxLength` tokens. */
export function truncateTokens<T>(tokens: ArrayLike<T>, maxLength: number): Truncated<T> {
  if (!Number.isInteger(maxLength) || maxLength < 0) throw new Error(`maxLength must be a non-negative integer, got ${maxLength}`);
  const keep = Math.min(tokens.length, maxLength);
  return { tokens: Array.from({ length: keep }, (_, i) => tokens[i]!), removed: tokens.length - keep };
}

export interface TruncatedBatch<T> {
  sequences: T[][];
  /** How many sequences were longer than maxLength. */
  truncatedSequences: number;
  /** Total tokens removed over all sequences. */
  removedTokens: number;
}

/** Truncate every sequence; report how many were cut and how many tokens were dropped. */
export function truncateAll<T>(sequences: readonly ArrayLike<T>[], maxLength: number): TruncatedBatch<T> {
  let truncatedSequences = 0;
  let removedTokens = 0;
  const out = sequences.map((s) => {
    const t = truncateTokens(s, maxLength);
    if (t.removed > 0) {
      truncatedSequences += 1;
      removedTokens += t.removed;
    }
    return t.tokens;
  });
  return { sequences: out, truncatedSequences, removedTokens };
}
