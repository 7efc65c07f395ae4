// Tokenizer of a Hugging Face model directory, on top of @huggingface/tokenizers.
//
// loadTokenizer(dir) builds the library's Tokenizer from tokenizer.json (+ tokenizer_config.json
// when present) and resolves the special token ids (tokenizer_config.json, then config.json, then
// generation_config.json; pad falls back to eos). The library gives no offsets, so
// encodeWithOffsets() computes them: for byte-level BPE tokenizers exactly, from each token's
// bytes mapped onto the UTF-8 bytes of the text; otherwise by decoding the tokens one at a time
// and concatenating (the CaMeLS reference's method). Offsets are UTF-16 indices into the text
// (text.slice(start, end)) and tile it with no gaps (leading spaces belong to their token); a
// token that covers only some bytes of a character is widened to the whole character, so tokens
// that split one character share it. decode() follows transformers v5: clean_up_tokenization_spaces is false
// unless tokenizer_config.json sets it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { readUtf8File } from '../engine/io/utf8.js';
import { Tokenizer } from '@huggingface/tokenizers';

export class TokenizerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenizerError';
  }
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

export interface EncodingWithOffsets {
  ids: number[];
  /** [start, end) UTF-16 indices into the text, one per id. */
  offsets: [number, number][];
}

type Json = Record<string, unknown>;

function readJsonFile(dir: string, name: string, required: boolean): Json | null {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) {
    if (!required) return null;
    throw new TokenizerError(`tokenizer directory '${dir}': missing ${name}`
      + (name === 'tokenizer.json' ? ' (only fast-tokenizer tokenizer.json files are supported)' : ''));
  }
  const text = readUtf8File(file); // invalid UTF-8: a Utf8Error naming the file, line and byte offset
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TokenizerError(`tokenizer directory '${dir}': cannot parse ${name}: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenizerError(`tokenizer directory '${dir}': ${name} must be a JSON object`);
  }
  return value as Json;
}

/** GPT-2's byte <-> printable-character table used by byte-level BPE (unicode char -> byte). */
function byteLevelDecoderTable(): Map<number, number> {
  const bytes: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b);
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b);
  const chars = [...bytes];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + n);
      n++;
    }
  }
  const table = new Map<number, number>();
  bytes.forEach((b, i) => table.set(chars[i]!, b));
  return table;
}

function usesByteLevelDecoder(decoder: unknown): boolean {
  if (typeof decoder !== 'object' || decoder === null) return false;
  const d = decoder as Json;
  if (d['type'] === 'ByteLevel') return true;
  if (d['type'] === 'Sequence' && Array.isArray(d['decoders'])) return d['decoders'].some(usesByteLevelDecoder);
  return false;
}

export class HfTokenizer {
  readonly dir: string;
  readonly eosTokenId: number | null;
  readonly bosTokenId: number | null;
  /** pad token id; falls back to eosTokenId when no pad token is configured. */
  readonly padTokenId: number | null;
  /** Number of entries in the vocabulary, added tokens included (len(tokenizer) in transformers). */
  readonly vocabSize: number;
  private readonly tok: Tokenizer;
  private readonly cleanUpSpaces: boolean;
  private readonly addedContent: Map<number, string>;
  private readonly byteTable: Map<number, number> | null;

  constructor(dir: string) {
    this.dir = dir;
    const tokenizerJson = readJsonFile(dir, 'tokenizer.json', true)!;
    const tokenizerConfig = readJsonFile(dir, 'tokenizer_config.json', false) ?? {};
    const modelConfig = readJsonFile(dir, 'config.json', false) ?? {};
    const generationConfig = readJsonFile(dir, 'generation_config.json', false) ?? {};
    const cleanUp = tokenizerConfig['clean_up_tokenization_spaces'];
    this.cleanUpSpaces = cleanUp === true;
    try {
      this.tok = new Tokenizer(tokenizerJson, { ...tokenizerConfig, clean_up_tokenization_spaces: this.cleanUpSpaces });
    } catch (err) {
      throw new TokenizerError(`tokenizer directory '${dir}': cannot build tokenizer from tokenizer.json: ${(err as Error).message}`);
    }
    this.vocabSize = this.tok.get_vocab(true).size;
    this.addedContent = new Map();
    for (const [id, t] of this.tok.get_added_tokens_decoder()) this.addedContent.set(id, t.content);
    this.byteTable = usesByteLevelDecoder(tokenizerJson['decoder']) && tokenizerJson['normalizer'] == null
      ? byteLevelDecoderTable() : null;

    const resolve = (tokenKey: string, idKey: string): number | null => {
      const t = tokenizerConfig[tokenKey];
      const content = typeof t === 'string' ? t
        : typeof t === 'object' && t !== null && typeof (t as Json)['content'] === 'string' ? (t as Json)['content'] as string
          : null;
      if (content !== null) {
        const id = this.tok.token_to_id(content);
        if (id === undefined) {
          throw new TokenizerError(`tokenizer directory '${dir}': tokenizer_config.json ${tokenKey} ${JSON.stringify(content)} is not in the vocabulary`);
        }
        return id;
      }
      for (const [name, cfg] of [['config.json', modelConfig], ['generation_config.json', generationConfig]] as const) {
        const v = cfg[idKey];
        const first = Array.isArray(v) ? v[0] : v;
        if (first === null || first === undefined) continue;
        if (typeof first !== 'number' || !Number.isSafeInteger(first) || first < 0) {
          throw new TokenizerError(`tokenizer directory '${dir}': ${name} ${idKey} must be a non-negative integer, got ${JSON.stringify(v)}`);
        }
        return first;
      }
      return null;
    };
    this.eosTokenId = resolve('eos_token', 'eos_token_id');
    this.bosTokenId = resolve('bos_token', 'bos_token_id');
    this.padTokenId = resolve('pad_token', 'pad_token_id') ?? this.eosTokenId;
  }

  /** Token ids of `text` (special tokens added as transformers would, none for GPT-2 style). */
  encode(text: string): number[] {
    if (typeof text !== 'string') throw new TokenizerError(`encode: text must be a string, got ${typeof text}`);
    if (text.length === 0) return [];
    return this.tok.encode(text).ids;
  }

  /** Ids plus [start, end) UTF-16 offsets of each token in `text`. */
  encodeWithOffsets(text: string): EncodingWithOffsets {
    const ids = this.encode(text);
    const offsets = this.byteLevelOffsets(text, ids) ?? this.decodedOffsets(text, ids);
    return { ids, offsets };
  }

  /** Decodes ids to text; an empty list gives "". */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    this.checkIds(ids);
    return this.tok.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
    });
  }

  /** Each token decoded on its own (no clean-up), e.g. for display or offset reconstruction. */
  decodeEach(ids: readonly number[]): string[] {
    this.checkIds(ids);
    return ids.map((id) => this.tok.decode([id], { clean_up_tokenization_spaces: false }));
  }

  /** The vocabulary string of a token id (byte-level form for BPE), or undefined. */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  private checkIds(ids: readonly number[]): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isSafeInteger(id) || id < 0 || this.tok.id_to_token(id) === undefined) {
        throw new TokenizerError(`tokenizer '${this.dir}': token id ${String(id)} at position ${i} is not in the vocabulary`);
      }
    }
  }

  /** Exact offsets for byte-level BPE; null when the tokens' bytes do not spell the text. */
  private byteLevelOffsets(text: string, ids: number[]): [number, number][] | null {
    const table = this.byteTable;
    if (table === null) return null;
    const textBytes = Buffer.from(text, 'utf8');
    const ends: number[] = [];
    let pos = 0;
    for (const id of ids) {
      const added = this.addedContent.get(id);
      if (added !== undefined) {
        const b = Buffer.from(added, 'utf8');
        if (!b.equals(textBytes.subarray(pos, pos + b.length))) return null;
        pos += b.length;
      } else {
        const token = this.tok.id_to_token(id);
        if (token === undefined) return null;
        for (const ch of token) {
          const byte = table.get(ch.codePointAt(0)!);
          if (byte === undefined || textBytes[pos] !== byte) return null;
          pos++;
        }
      }
      ends.push(pos);
    }
    if (pos !== textBytes.length) return null;
    // UTF-8 byte offset -> UTF-16 index: a byte inside a character maps to that character's start
    // (for token starts) or end (for token ends).
    const startAt = new Int32Array(textBytes.length + 1);
    const endAt = new Int32Array(textBytes.length + 1);
    let b = 0;
    let u = 0;
    for (const ch of text) {
      const nb = Buffer.byteLength(ch, 'utf8');
      for (let k = 0; k < nb; k++) {
        startAt[b + k] = u;
        endAt[b + k] = k === 0 ? u : u + ch.length;
      }
      b += nb;
      u += ch.length;
    }
    startAt[b] = u;
    endAt[b] = u;
    const offsets: [number, number][] = [];
    let prev = 0;
    for (const e of ends) {
      offsets.push([startAt[prev]!, endAt[e]!]);
      prev = e;
    }
    return offsets;
  }

  /** Offsets from decoding each token and concatenating, clamped to the text. */
  private decodedOffsets(text: string, ids: number[]): [number, number][] {
    const pieces = this.decodeEach(ids);
    const offsets: [number, number][] = [];
    let pos = 0;
    for (const p of pieces) {
      const start = Math.min(pos, text.length);
      pos += p.length;
      offsets.push([start, Math.min(pos, text.length)]);
    }
    return offsets;
  }
}

/** Loads the tokenizer of a model directory (tokenizer.json required). */
export function loadTokenizer(dir: string): HfTokenizer {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new TokenizerError(`tokenizer directory '${dir}' does not exist or is not a directory`);
  }
  return new HfTokenizer(dir);
}
