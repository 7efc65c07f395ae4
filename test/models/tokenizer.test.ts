// Tokenizer: every golden tokenizer case (ids and decoded text) for the three fixtures, offsets,
// special token ids and their precedence, and clear errors for missing files and bad ids.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenizerError, loadTokenizer } from '../../models/tokenizer.js';

const GOLDEN = fileURLToPath(new URL('../fixtures/golden', import.meta.url));
const FIXTURES = ['tiny-gpt2', 'tiny-gpt-neo', 'tiny-gptj'];
let tmp = '';

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tokenizer-test-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface TokenizerCase {
  text: string;
  ids: number[];
  decoded: string;
}

function cases(name: string): TokenizerCase[] {
  const expected = JSON.parse(fs.readFileSync(path.join(GOLDEN, name, 'expected.json'), 'utf8')) as { tokenizer: TokenizerCase[] };
  expect(expected.tokenizer.length).toBeGreaterThan(0);
  return expected.tokenizer;
}

describe.each(FIXTURES)('%s', (name) => {
  const dir = path.join(GOLDEN, name);

  it('encodes and decodes every golden case exactly', () => {
    const tok = loadTokenizer(dir);
    for (const c of cases(name)) {
      expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
      expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.decoded);
    }
    expect(tok.decode([])).toBe('');
    expect(tok.encode('')).toEqual([]);
    expect(tok.decodeEach([])).toEqual([]);
  });

  it('has the special token ids and vocabulary size of the checkpoint', () => {
    const tok = loadTokenizer(dir);
    expect(tok.eosTokenId).toBe(0);
    expect(tok.bosTokenId).toBe(0);
    expect(tok.padTokenId).toBe(0); // no pad token: falls back to eos
    expect(tok.vocabSize).toBe(512);
    expect(tok.idToToken(0)).toBe('<|endoftext|>');
    expect(tok.tokenToId('<|endoftext|>')).toBe(0);
  });

  it('gives offsets that tile the text and match each decoded token', () => {
    const tok = loadTokenizer(dir);
    for (const c of cases(name)) {
      const { ids, offsets } = tok.encodeWithOffsets(c.text);
      expect(ids).toEqual(c.ids);
      expect(offsets).toHaveLength(ids.length);
      if (ids.length === 0) continue;
      expect(offsets[0]![0]).toBe(0);
      expect(offsets.at(-1)![1]).toBe(c.text.length);
      const pieces = tok.decodeEach(ids);
      for (let i = 0; i < offsets.length; i++) {
        const [s, e] = offsets[i]!;
        expect(s).toBeLessThan(e);
        if (i > 0) {
          const [ps, pe] = offsets[i - 1]!;
          expect(s).toBeGreaterThanOrEqual(ps);
          // Contiguous, except tokens that split one character both cover it.
          if (s !== pe) {
            expect(s).toBeLessThan(pe);
            expect(pieces[i]).toContain('\uFFFD');
          }
        }
        if (!pieces[i]!.includes('\uFFFD')) expect(c.text.slice(s, e)).toBe(pieces[i]);
      }
    }
    // The emoji (4 UTF-8 bytes, 2 UTF-16 units) is split over byte tokens that each cover it whole.
    const text = 'a 🙂 b';
    const { ids, offsets } = tok.encodeWithOffsets(text);
    expect(tok.decode(ids)).toBe(text);
    const emoji = text.indexOf('🙂');
    const covering = offsets.filter(([s, e]) => s <= emoji && e >= emoji + 2);
    expect(covering.length).toBeGreaterThanOrEqual(1);
    for (const [s, e] of offsets) expect(s === emoji + 1 || e === emoji + 1).toBe(false); // never mid-surrogate
  });

  it('handles special tokens in text and skipSpecialTokens', () => {
    const tok = loadTokenizer(dir);
    const ids = tok.encode('<|endoftext|>Hello');
    expect(ids[0]).toBe(0);
    expect(tok.decode(ids)).toBe('<|endoftext|>Hello');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('Hello');
    const { offsets } = tok.encodeWithOffsets('<|endoftext|>Hello');
    expect(offsets[0]).toEqual([0, 13]);
    expect(tok.decodeEach(ids).join('')).toBe('<|endoftext|>Hello');
  });

  it('decodeEach does not clean up tokenization spaces', () => {
    const tok = loadTokenizer(dir);
    const ids = tok.encode('a , b .');
    expect(tok.decodeEach(ids).join('')).toBe('a , b .');
    expect(tok.decode(ids)).toBe('a , b .');
  });
});

describe('errors and token-id precedence', () => {
  const src = path.join(GOLDEN, 'tiny-gpt2');

  function copyDir(files: Record<string, string | null>): string {
    const dir = fs.mkdtempSync(path.join(tmp, 'tok-'));
    fs.copyFileSync(path.join(src, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    for (const [name, content] of Object.entries(files)) {
      if (content === null) fs.rmSync(path.join(dir, name), { force: true });
      else fs.writeFileSync(path.join(dir, name), content);
    }
    return dir;
  }

  it('missing directory or tokenizer.json is a clear error', () => {
    const nowhere = path.join(tmp, 'nowhere');
    expect(() => loadTokenizer(nowhere)).toThrow(TokenizerError);
    expect(() => loadTokenizer(nowhere)).toThrow(nowhere);
    const dir = copyDir({ 'tokenizer.json': null });
    expect(() => loadTokenizer(dir)).toThrow(new RegExp(`'${dir.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}'.*missing tokenizer\\.json`));
  });

  it('invalid JSON names the file', () => {
    const dir = copyDir({ 'tokenizer_config.json': '{oops' });
    expect(() => loadTokenizer(dir)).toThrow(/cannot parse tokenizer_config\.json/);
    expect(() => loadTokenizer(dir)).toThrow(dir);
  });

  it('out-of-vocabulary ids are rejected', () => {
    const tok = loadTokenizer(src);
    expect(() => tok.decode([1, 512])).toThrow(/token id 512 at position 1/);
    expect(() => tok.decode([-1])).toThrow(TokenizerError);
    expect(() => tok.decode([1.5])).toThrow(TokenizerError);
    expect(() => tok.decodeEach([99999])).toThrow(TokenizerError);
  });

  it('works without tokenizer_config.json, taking ids from config.json / generation_config.json', () => {
    const dir = copyDir({
      'config.json': JSON.stringify({ eos_token_id: 5, pad_token_id: null }),
      'generation_config.json': JSON.stringify({ bos_token_id: 6, pad_token_id: 7, eos_token_id: 9 }),
    });
    const tok = loadTokenizer(dir);
    expect(tok.eosTokenId).toBe(5); // config.json wins over generation_config.json
    expect(tok.bosTokenId).toBe(6);
    expect(tok.padTokenId).toBe(7);
    expect(tok.encode('Hello')).toEqual(loadTokenizer(src).encode('Hello'));
  });

  it('tokenizer_config.json tokens win; pad falls back to eos', () => {
    const dir = copyDir({
      'tokenizer_config.json': JSON.stringify({ eos_token: { content: 'a' }, bos_token: 'b', pad_token: null }),
      'config.json': JSON.stringify({ eos_token_id: 5, bos_token_id: 6 }),
    });
    const tok = loadTokenizer(dir);
    expect(tok.eosTokenId).toBe(65);
    expect(tok.bosTokenId).toBe(66);
    expect(tok.padTokenId).toBe(65);
    const bad = copyDir({ 'tokenizer_config.json': JSON.stringify({ pad_token: '<pad-not-here>' }) });
    expect(() => loadTokenizer(bad)).toThrow(/pad_token "<pad-not-here>" is not in the vocabulary/);
  });

  it('honours clean_up_tokenization_spaces when tokenizer_config.json sets it', () => {
    const dir = copyDir({ 'tokenizer_config.json': JSON.stringify({ clean_up_tokenization_spaces: true }) });
    const tok = loadTokenizer(dir);
    const ids = tok.encode('a , b .');
    expect(tok.decode(ids)).toBe('a, b.');
    expect(tok.decodeEach(ids).join('')).toBe('a , b .');
  });
});
