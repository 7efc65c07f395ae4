// Byte-level BPE tokenizer trainer (GPT-2 style), writing Hugging Face tokenizer directories.
//
// trainByteLevelBpe(corpus, opts) learns a GPT-2 style byte-level BPE model from text and returns
// the tokenizer.json object in the layout Hugging Face `tokenizers` writes (model BPE with vocab
// and merges; ByteLevel pre-tokenizer, post-processor and decoder; special tokens as added
// tokens); writeTokenizerDir() saves it with a tokenizer_config.json so that
// models/tokenizer.ts loadTokenizer(dir) loads it like a GPT-2 tokenizer.
//
// Training: the text is split on the special tokens (they never reach the BPE model), each piece
// is pre-tokenized with the GPT-2 split regex, every pre-token is mapped to the 256-symbol
// byte-level alphabet (GPT-2's bytes_to_unicode) and counted. The vocabulary starts as the special
// tokens (ids 0..) followed by the whole alphabet sorted by code point, as the HF trainer does.
// Then the most frequent adjacent pair is merged, repeatedly, until the vocabulary reaches
// vocabSize or no pair occurs minFrequency times. Ties go to the pair whose (left id, right id) is
// smallest, which is the HF trainer's rule and makes the result a function of the corpus only.
// Pair counts are maintained incrementally: an index from each pair to the words containing it
// means each merge only rewrites the words it touches, and a lazy max-heap holds the candidates.
//
// encodeByteLevelBpe() is a small reference encoder (rank-ordered merges, as the HF BPE model
// applies them) used to cross-check the library.

import * as fs from 'node:fs';
import * as path from 'node:path';

// ---------------------------------------------------------------------------------------------
// JSON layout

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface ByteLevelComponentJson {
  type: 'ByteLevel';
  add_prefix_space: boolean;
  trim_offsets: boolean;
  use_regex: boolean;
}

export interface BpeModelJson {
  type: 'BPE';
  dropout: null;
  unk_token: null;
  continuing_subword_prefix: null;
  end_of_word_suffix: null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  ignore_merges: boolean;
  /** token -> id; a null-prototype object (any token string is safe as a key). */
  vocab: Record<string, number>;
  merges: [string, string][];
}

export interface TokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: null;
  pre_tokenizer: ByteLevelComponentJson;
  post_processor: ByteLevelComponentJson;
  decoder: ByteLevelComponentJson;
  model: BpeModelJson;
}

export interface TrainByteLevelBpeOptions {
  /** Total vocabulary size, special tokens and the 256 byte symbols included. */
  vocabSize: number;
  /** A pair must occur at least this many times to be merged (default 2). */
  minFrequency?: number;
  /** Special tokens, given ids 0, 1, ... in this order (default ['<|endoftext|>']). */
  specialTokens?: string[];
}

export interface TokenizerConfigOptions {
  eosToken: string;
  bosToken: string;
  unkToken: string;
  padToken?: string;
  modelMaxLength: number;
}

// ---------------------------------------------------------------------------------------------
// Byte-level alphabet and pre-tokenization

/** GPT-2's bytes_to_unicode: byte value -> single printable character. */
export function bytesToUnicode(): string[] {
  const table: string[] = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return table;
}

const BYTE_TO_CHAR = bytesToUnicode();

/** The GPT-2 pre-tokenization regex (as used by the ByteLevel pre-tokenizer with use_regex). */
export const GPT2_SPLIT_REGEX = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const ENCODER = new TextEncoder();

/** A string's UTF-8 bytes written in the byte-level alphabet. */
export function toByteLevel(text: string): string {
  const bytes = ENCODER.encode(text);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i]!]!;
  return out;
}

/** GPT-2 regex pre-tokens of `text` (raw text, not byte-level). */
export function preTokenize(text: string): string[] {
  return text.match(new RegExp(GPT2_SPLIT_REGEX.source, 'gu')) ?? [];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * Splits text into [segment, isSpecial] parts, matching special tokens left to right, longest
 * first at each position (as the tokenizer's added-token splitter does).
 */
function splitOnSpecials(text: string, specials: readonly string[]): { text: string; special: boolean }[] {
  if (specials.length === 0) return [{ text, special: false }];
  const sorted = [...specials].sort((a, b) => b.length - a.length);
  const re = new RegExp(sorted.map(escapeRegExp).join('|'), 'gu');
  const out: { text: string; special: boolean }[] = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    const at = m.index!;
    if (at > last) out.push({ text: text.slice(last, at), special: false });
    out.push({ text: m[0], special: true });
    last = at + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), special: false });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Training

/** Pair key: left id * 2^21 + right id (ids < 2^21, so keys order like (left, right)). */
const PAIR_SHIFT = 2 ** 21;
const MAX_VOCAB = PAIR_SHIFT;

/** Max-heap of (count, pair key); larger count first, then smaller key. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i]!;
    this.counts[i] = this.counts[j]!;
    this.counts[j] = c;
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** Removes the top; returns [count, key]. */
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.keys[0]!];
    const lastC = this.counts.pop()!;
    const lastK = this.keys.pop()!;
    const n = this.counts.length;
    if (n > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < n && this.above(l, best)) best = l;
        if (r < n && this.above(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

function checkOptions(opts: TrainByteLevelBpeOptions): { vocabSize: number; minFrequency: number; specials: string[] } {
  const specials = opts.specialTokens ?? ['<|endoftext|>'];
  if (!Array.isArray(specials)) throw new TypeError('trainByteLevelBpe: specialTokens must be an array of strings');
  const seen = new Set<string>();
  for (const s of specials) {
    if (typeof s !== 'string' || s.length === 0) {
      throw new TypeError(`trainByteLevelBpe: special tokens must be non-empty strings, got ${JSON.stringify(s)}`);
    }
    if (seen.has(s)) throw new RangeError(`trainByteLevelBpe: duplicate special token ${JSON.stringify(s)}`);
    seen.add(s);
  }
  for (const s of specials) {
    if (BYTE_TO_CHAR.includes(s)) {
      throw new RangeError(`trainByteLevelBpe: special token ${JSON.stringify(s)} is one of the 256 byte symbols`);
    }
  }
  const { vocabSize } = opts;
  const minVocab = specials.length + 256;
  if (!Number.isSafeInteger(vocabSize) || vocabSize < minVocab || vocabSize > MAX_VOCAB) {
    throw new RangeError(`trainByteLevelBpe: vocabSize must be an integer in [${minVocab}, ${MAX_VOCAB}] `
      + `(${specials.length} special tokens + 256 byte symbols at least), got ${String(vocabSize)}`);
  }
  const minFrequency = opts.minFrequency ?? 2;
  if (!Number.isSafeInteger(minFrequency) || minFrequency < 1) {
    throw new RangeError(`trainByteLevelBpe: minFrequency must be a positive integer, got ${String(minFrequency)}`);
  }
  return { vocabSize, minFrequency, specials };
}

/**
 * Trains a GPT-2 style byte-level BPE tokenizer on `corpus` (each element one document) and
 * returns its tokenizer.json object.
 */
export function trainByteLevelBpe(corpus: readonly string[], opts: TrainByteLevelBpeOptions): TokenizerJson {
  if (!Array.isArray(corpus)) throw new TypeError('trainByteLevelBpe: corpus must be an array of strings');
  const { vocabSize, minFrequency, specials } = checkOptions(opts);

  // Count raw pre-tokens (special tokens cut out first).
  const rawCounts = new Map<string, number>();
  const re = new RegExp(GPT2_SPLIT_REGEX.source, 'gu');
  for (let d = 0; d < corpus.length; d++) {
    const doc = corpus[d];
    if (typeof doc !== 'string') throw new TypeError(`trainByteLevelBpe: corpus[${d}] is not a string`);
    for (const part of splitOnSpecials(doc, specials)) {
      if (part.special) continue;
      for (const m of part.text.matchAll(re)) {
        const w = m[0];
        rawCounts.set(w, (rawCounts.get(w) ?? 0) + 1);
      }
    }
  }

  // Initial vocabulary: specials, then the byte alphabet sorted by code point.
  const idToToken: string[] = [...specials];
  const tokenToId = new Map<string, number>();
  specials.forEach((s, i) => tokenToId.set(s, i));
  const alphabet = [...BYTE_TO_CHAR].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
  for (const ch of alphabet) {
    tokenToId.set(ch, idToToken.length);
    idToToken.push(ch);
  }
  const byteId = new Int32Array(256);
  for (let b = 0; b < 256; b++) byteId[b] = tokenToId.get(BYTE_TO_CHAR[b]!)!;

  // One word (symbol-id array, rewritten in place; lens holds its length) per distinct pre-token.
  const words: Int32Array[] = [];
  const freqs: number[] = [];
  const lenList: number[] = [];
  for (const [w, c] of rawCounts) {
    const bytes = ENCODER.encode(w);
    const ids = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = byteId[bytes[i]!]!;
    words.push(ids);
    freqs.push(c);
    lenList.push(ids.length);
  }
  rawCounts.clear();
  const lens = Int32Array.from(lenList);

  // Pair counts and pair -> words index.
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  for (let w = 0; w < words.length; w++) {
    const ids = words[w]!;
    const f = freqs[w]!;
    for (let i = 0; i + 1 < ids.length; i++) {
      const key = ids[i]! * PAIR_SHIFT + ids[i + 1]!;
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + f);
      let set = pairWords.get(key);
      if (set === undefined) pairWords.set(key, (set = new Set()));
      set.add(w);
    }
  }
  const heap = new PairHeap();
  for (const [key, count] of pairCounts) heap.push(count, key);

  const merges: [string, string][] = [];
  const merged = new Set<number>();
  const blocked = new Set<number>();
  const specialSet = new Set(specials);
  const deltas = new Map<number, number>();
  while (idToToken.length < vocabSize && heap.size > 0) {
    const [count, key] = heap.pop();
    const current = pairCounts.get(key) ?? 0;
    if (current !== count) {
      // Stale entry: counts of a pair only rise with a fresh push, so re-queue a lower count.
      if (current > 0 && current < count) heap.push(current, key);
      continue;
    }
    if (count < minFrequency) break;

    const left = Math.floor(key / PAIR_SHIFT);
    const right = key - left * PAIR_SHIFT;
    const leftTok = idToToken[left]!;
    const rightTok = idToToken[right]!;
    const newTok = leftTok + rightTok;
    if (specialSet.has(newTok)) {
      // A special token spelled in byte symbols (e.g. 'Ġx'): never learn it as a BPE token, or
      // the text it encodes would decode to the special token's content instead.
      blocked.add(key);
      pairCounts.delete(key);
      pairWords.delete(key);
      continue;
    }
    let newId = tokenToId.get(newTok);
    if (newId === undefined) {
      newId = idToToken.length;
      idToToken.push(newTok);
      tokenToId.set(newTok, newId);
    }
    // Defensive: were a merge ever to re-create an existing token under another split (not seen
    // in practice), the token keeps its id as in HF's trainer, and a pair that came back would be
    // merged again in training but listed in merges only once.
    if (!merged.has(key)) {
      merged.add(key);
      merges.push([leftTok, rightTok]);
    }

    const touched = pairWords.get(key);
    pairWords.delete(key);
    if (touched === undefined) continue;
    deltas.clear();
    const addDelta = (k: number, d: number): void => {
      deltas.set(k, (deltas.get(k) ?? 0) + d);
    };
    const index = (k: number, w: number): void => {
      let set = pairWords.get(k);
      if (set === undefined) pairWords.set(k, (set = new Set()));
      set.add(w);
    };
    for (const w of touched) {
      // Rewrite in place, left to right, replacing non-overlapping occurrences of (left, right).
      // The neighbour on the left is already rewritten, so back-to-back occurrences net out.
      const ids = words[w]!;
      const len = lens[w]!;
      const f = freqs[w]!;
      let n = 0;
      for (let i = 0; i < len;) {
        if (ids[i] === left && i + 1 < len && ids[i + 1] === right) {
          if (n > 0) {
            const p = ids[n - 1]!;
            addDelta(p * PAIR_SHIFT + left, -f);
            addDelta(p * PAIR_SHIFT + newId, f);
            index(p * PAIR_SHIFT + newId, w);
          }
          if (i + 2 < len) {
            const q = ids[i + 2]!;
            addDelta(right * PAIR_SHIFT + q, -f);
            addDelta(newId * PAIR_SHIFT + q, f);
            index(newId * PAIR_SHIFT + q, w);
          }
          addDelta(key, -f);
          ids[n++] = newId;
          i += 2;
        } else {
          ids[n++] = ids[i]!;
          i++;
        }
      }
      lens[w] = n;
    }
    for (const [k, d] of deltas) {
      if (d === 0 || blocked.has(k)) continue;
      const c = (pairCounts.get(k) ?? 0) + d;
      if (c <= 0) {
        // No word holds the pair any more.
        pairCounts.delete(k);
        pairWords.delete(k);
      } else {
        pairCounts.set(k, c);
        if (d > 0) heap.push(c, k);
      }
    }
  }

  const vocab = Object.create(null) as Record<string, number>;
  idToToken.forEach((t, i) => {
    vocab[t] = i;
  });
  const byteLevel = (add_prefix_space: boolean, trim_offsets: boolean): ByteLevelComponentJson => ({
    type: 'ByteLevel', add_prefix_space, trim_offsets, use_regex: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel(false, true),
    post_processor: byteLevel(true, false),
    decoder: byteLevel(true, true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Serialization

function pretty(value: unknown, indent: string, sortByValue: boolean): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return '[\n' + value.map((v) => inner + pretty(v, inner, false)).join(',\n') + '\n' + indent + ']';
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  if (sortByValue) entries.sort((a, b) => (a[1] as number) - (b[1] as number));
  return '{\n' + entries.map(([k, v]) => inner + JSON.stringify(k) + ': '
    + pretty(v, inner, k === 'vocab' && indent === '  ')).join(',\n') + '\n' + indent + '}';
}

/**
 * tokenizer.json text in HF's layout: two-space indentation, the vocabulary in id order (plain
 * JSON.stringify would move integer-like tokens such as "10" to the front).
 */
export function stringifyTokenizerJson(tokenizerJson: TokenizerJson): string {
  return pretty(tokenizerJson, '', false);
}

/** tokenizer_config.json object (keys sorted, as transformers writes them). */
export function tokenizerConfigJson(tokenizerJson: TokenizerJson, cfg: TokenizerConfigOptions): Record<string, unknown> {
  const known = new Set<string>([...Object.keys(tokenizerJson.model.vocab), ...tokenizerJson.added_tokens.map((t) => t.content)]);
  const check = (name: string, tok: string | undefined): void => {
    if (tok === undefined) return;
    if (typeof tok !== 'string' || !known.has(tok)) {
      throw new RangeError(`writeTokenizerDir: ${name} ${JSON.stringify(tok)} is not in the vocabulary`);
    }
  };
  check('eosToken', cfg.eosToken);
  check('bosToken', cfg.bosToken);
  check('unkToken', cfg.unkToken);
  check('padToken', cfg.padToken);
  if (!Number.isSafeInteger(cfg.modelMaxLength) || cfg.modelMaxLength < 1) {
    throw new RangeError(`writeTokenizerDir: modelMaxLength must be a positive integer, got ${String(cfg.modelMaxLength)}`);
  }
  const out: Record<string, unknown> = {
    backend: 'tokenizers',
    bos_token: cfg.bosToken,
    eos_token: cfg.eosToken,
    model_max_length: cfg.modelMaxLength,
  };
  if (cfg.padToken !== undefined) out['pad_token'] = cfg.padToken;
  out['tokenizer_class'] = 'TokenizersBackend';
  out['unk_token'] = cfg.unkToken;
  return out;
}

/** Writes tokenizer.json and tokenizer_config.json into `dir` (created if missing). */
export function writeTokenizerDir(dir: string, tokenizerJson: TokenizerJson, cfg: TokenizerConfigOptions): void {
  const config = tokenizerConfigJson(tokenizerJson, cfg);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), stringifyTokenizerJson(tokenizerJson));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
}

// ---------------------------------------------------------------------------------------------
// Reference encoder

/**
 * Encodes text with a byte-level BPE tokenizer.json the way the HF BPE model does: special tokens
 * split out, GPT-2 pre-tokenization, then per pre-token the lowest-ranked merge applied first
 * (leftmost occurrence on ties) until none applies. Slow but simple; for checks.
 */
export function encodeByteLevelBpe(tokenizerJson: TokenizerJson, text: string): number[] {
  const { vocab, merges } = tokenizerJson.model;
  const ranks = new Map<string, number>();
  merges.forEach(([a, b], i) => {
    const k = a + '\u0000' + b;
    if (!ranks.has(k)) ranks.set(k, i);
  });
  const specials = new Map(tokenizerJson.added_tokens.map((t) => [t.content, t.id] as const));
  const ids: number[] = [];
  for (const part of splitOnSpecials(text, [...specials.keys()])) {
    if (part.special) {
      ids.push(specials.get(part.text)!);
      continue;
    }
    for (const raw of preTokenize(part.text)) {
      const sym = [...toByteLevel(raw)];
      for (;;) {
        let best = -1;
        let bestRank = Infinity;
        for (let i = 0; i + 1 < sym.length; i++) {
          const r = ranks.get(sym[i]! + '\u0000' + sym[i + 1]!);
          if (r !== undefined && r < bestRank) {
            bestRank = r;
            best = i;
          }
        }
        if (best < 0) break;
        sym.splice(best, 2, sym[best]! + sym[best + 1]!);
      }
      for (const s of sym) {
        const id = Object.prototype.hasOwnProperty.call(vocab, s) ? vocab[s] : undefined;
        if (id === undefined) throw new Error(`encodeByteLevelBpe: token ${JSON.stringify(s)} is not in the vocabulary`);
        ids.push(id);
      }
    }
  }
  return ids;
}
