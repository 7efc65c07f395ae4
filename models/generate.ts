// Text generation for the GPT models: greedy, beam search and diverse (group) beam search with
// Hugging Face transformers semantics, over left-padded prompt batches with a KV cache.
//
//   const out = await generate(model, [promptIds, otherPromptIds], { maxNewTokens: 16, numBeams: 4 });
//   out.tokens[i]     // best sequence of prompt i: prompt + new tokens (no pads)
//   out.newTokens[i]  // its new tokens (ending with EOS when it stopped there)
//   out.scores[i]     // its score (beam: sum_logprobs / new_length ** lengthPenalty)
//
// Each prompt's result equals generating it alone. The work per step is one forward over the new
// token of every live row (the prompt is run once), kept in tidy scopes; the next-token log-probs
// stay on the device, where each row's best tokens are selected (E.topk), and only those ids and
// log-probs come back to the host, where the search bookkeeping runs (see generate/search.ts).

import fs from 'node:fs';
import path from 'node:path';
import { readUtf8File, Utf8Error } from '../engine/io/utf8.js';
import { KvDecoder, type DecodeModel } from './generate/decoder.js';
import { beamSearch, greedySearch, groupBeamSearch, type EarlyStopping, type Hypothesis } from './generate/search.js';

export { KvDecoder, type DecodeModel, type NextTokenSource } from './generate/decoder.js';
export { hostNextTokens, type NextTokens, type TopTokens } from './generate/next-tokens.js';
export { beamSearch, greedySearch, groupBeamSearch, type BeamOptions, type EarlyStopping, type GroupBeamOptions, type Hypothesis, type SearchOptions } from './generate/search.js';

export interface GenerateOptions {
  /** New tokens to generate at most (the EOS token included). */
  maxNewTokens: number;
  /** 1 (default): greedy. */
  numBeams?: number;
  /** > 1: diverse beam search with numBeams / numBeamGroups beams per group. */
  numBeamGroups?: number;
  /** Subtracted from a token's log-prob per earlier group that chose it at the same step. */
  diversityPenalty?: number;
  /** Exponent of the generated length dividing finished beam scores (default 1). */
  lengthPenalty?: number;
  /** Beam search stopping: true (stop at numBeams finished), false (heuristic, default as in transformers) or 'never'. */
  earlyStopping?: EarlyStopping;
  /** End-of-sequence token(s); default the model config's eos_token_id; null: none. */
  eosTokenId?: number | readonly number[] | null;
  /** Left-padding token; default the config's pad_token_id, else the first EOS token, else 0. */
  padTokenId?: number | null;
  /** Sequences returned per prompt, best first (beam search only; <= numBeams). Default 1. */
  numReturnSequences?: number;
}

export interface GeneratedSequence {
  /** Prompt + new tokens (no padding). */
  tokens: number[];
  newTokens: number[];
  /** Beam search: sum of log-probs / new_length ** lengthPenalty (transformers' sequences_scores); greedy: sum of log-probs. */
  score: number;
  /** Stopped at an EOS token (the last new token) rather than at maxNewTokens. */
  eos: boolean;
  /** Group beam search: the group that produced the sequence. */
  group?: number;
}

export interface GenerateResult {
  /** Best sequence per prompt: prompt + new tokens. */
  tokens: number[][];
  /** New tokens of the best sequence per prompt. */
  newTokens: number[][];
  /** Score of the best sequence per prompt. */
  scores: number[];
  /** Per prompt, numReturnSequences sequences, best first. */
  sequences: GeneratedSequence[][];
}

function eosList(v: number | readonly number[] | null | undefined): number[] {
  if (v === null || v === undefined) return [];
  return typeof v === 'number' ? [v] : [...v];
}

/** Resolve defaults and check the options (exported for callers that build NextTokenSources). */
export function resolveGenerateOptions(model: DecodeModel, opts: GenerateOptions) {
  const numBeams = opts.numBeams ?? 1;
  const numBeamGroups = opts.numBeamGroups ?? 1;
  const eosTokenIds = eosList(opts.eosTokenId === undefined ? model.config.eosTokenId : opts.eosTokenId);
  const padTokenId = opts.padTokenId ?? model.config.padTokenId ?? eosTokenIds[0] ?? 0;
  const numReturnSequences = opts.numReturnSequences ?? 1;
  const V = model.config.vocabSize;
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 0) throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${opts.maxNewTokens}`);
  if (!Number.isInteger(numBeams) || numBeams < 1) throw new Error(`generate: numBeams must be a positive integer, got ${numBeams}`);
  if (!Number.isInteger(numBeamGroups) || numBeamGroups < 1 || numBeams % numBeamGroups !== 0) {
    throw new Error(`generate: numBeamGroups (${numBeamGroups}) must be a positive integer dividing numBeams (${numBeams})`);
  }
  for (const t of [...eosTokenIds, padTokenId]) {
    if (!Number.isInteger(t) || t < 0 || t >= V) throw new Error(`generate: special token ${t} is outside the vocabulary [0, ${V})`);
  }
  if (numBeams === 1 && numReturnSequences !== 1) throw new Error('generate: greedy decoding returns one sequence per prompt (numReturnSequences must be 1)');
  if (!Number.isInteger(numReturnSequences) || numReturnSequences < 1 || numReturnSequences > numBeams) {
    throw new Error(`generate: numReturnSequences must be in [1, numBeams=${numBeams}], got ${numReturnSequences}`);
  }
  return {
    maxNewTokens: opts.maxNewTokens,
    numBeams,
    numBeamGroups,
    diversityPenalty: opts.diversityPenalty ?? 0,
    lengthPenalty: opts.lengthPenalty ?? 1,
    earlyStopping: opts.earlyStopping ?? false,
    eosTokenIds,
    padTokenId,
    numReturnSequences,
  };
}

/** Generate continuations of token-id prompts (which may differ in length) with a GPT model. */
export async function generate(model: DecodeModel, prompts: readonly (readonly number[])[], opts: GenerateOptions): Promise<GenerateResult> {
  const o = resolveGenerateOptions(model, opts);
  const decoder = new KvDecoder(model, prompts, o.padTokenId);
  let hyps: Hypothesis[][];
  try {
    if (o.numBeams === 1) hyps = await greedySearch(decoder, prompts.length, o);
    else if (o.numBeamGroups > 1) hyps = await groupBeamSearch(decoder, prompts.length, o);
    else hyps = await beamSearch(decoder, prompts.length, o);
  } finally {
    decoder.dispose();
  }
  const sequences = hyps.map((hs, i) =>
    hs.map((h): GeneratedSequence => {
      const s: GeneratedSequence = { tokens: [...prompts[i]!, ...h.tokens], newTokens: h.tokens, score: h.score, eos: h.eos };
      if (h.group !== undefined) s.group = h.group;
      return s;
    }),
  );
  return {
    tokens: sequences.map((s) => s[0]!.tokens),
    newTokens: sequences.map((s) => s[0]!.newTokens),
    scores: sequences.map((s) => s[0]!.score),
    sequences,
  };
}

/**
 * The generation settings of a model directory's generation_config.json (transformers' names
 * mapped to GenerateOptions); {} when the file is absent. Explicit options should override these.
 */
export function readGenerationConfig(dir: string): Partial<GenerateOptions> {
  const file = path.join(dir, 'generation_config.json');
  if (!fs.existsSync(file)) return {};
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readUtf8File(file)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof Utf8Error) throw e;
    throw new Error(`readGenerationConfig: ${file} is not valid JSON (${(e as Error).message})`);
  }
  const out: Partial<GenerateOptions> = {};
  const num = (k: string): number | undefined => (typeof raw[k] === 'number' ? (raw[k] as number) : undefined);
  const set = <K extends keyof GenerateOptions>(key: K, v: GenerateOptions[K] | undefined) => {
    if (v !== undefined) out[key] = v;
  };
  set('maxNewTokens', num('max_new_tokens'));
  set('numBeams', num('num_beams'));
  set('numBeamGroups', num('num_beam_groups'));
  set('diversityPenalty', num('diversity_penalty'));
  set('lengthPenalty', num('length_penalty'));
  set('numReturnSequences', num('num_return_sequences'));
  const es = raw['early_stopping'];
  if (es === true || es === false || es === 'never') out.earlyStopping = es;
  const eos = raw['eos_token_id'];
  if (typeof eos === 'number' || (Array.isArray(eos) && eos.every((x) => typeof x === 'number'))) out.eosTokenId = eos as number | number[];
  const pad = num('pad_token_id');
  if (pad !== undefined) out.padTokenId = pad;
  return out;
}
