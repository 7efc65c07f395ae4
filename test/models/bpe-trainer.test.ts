// Byte-level BPE trainer: the trained tokenizer, written as a model directory, loads with
// loadTokenizer() and behaves like a GPT-2 tokenizer (exact round trips, special tokens, offsets);
// training is deterministic, respects vocabSize/minFrequency, matches a naive full-recount
// trainer merge for merge, and the reference encoder agrees with @huggingface/tokenizers.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bytesToUnicode,
  encodeByteLevelBpe,
  preTokenize,
  stringifyTokenizerJson,
  toByteLevel,
  trainByteLevelBpe,
  writeTokenizerDir,
  type TokenizerJson,
} from '../../models/bpe-trainer.js';
import { loadTokenizer, type HfTokenizer } from '../../models/tokenizer.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/golden/tiny-gpt2', import.meta.url));
const EOT = '<|endoftext|>';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'the', 'of', 'and', 'to', 'in', 'is', 'was', 'for', 'that', 'river', 'mountain', 'village', 'council',
  'announced', 'annual', 'festival', 'scientists', 'discovered', 'new', 'species', 'library', 'opened',
  'constructor', 'toString', '__proto__', 'hasOwnProperty', 'café', 'naïve', 'Zürich', 'Москва', '東京',
  'données', 'it\'s', 'they\'re', 'we\'ll', 'I\'m', 'don\'t', '2019', '10', '3.14', '😀', '👍🏽', 'a-b',
];

/** Sentences over a Zipf-ish word list, with numbers, punctuation, newlines and the odd EOT. */
function makeCorpus(seed: number, chars: number): string[] {
  const r = rng(seed);
  const docs: string[] = [];
  let total = 0;
  while (total < chars) {
    let doc = '';
    const sentences = 1 + Math.floor(r() * 4);
    for (let s = 0; s < sentences; s++) {
      const n = 3 + Math.floor(r() * 12);
      const ws: string[] = [];
      for (let i = 0; i < n; i++) ws.push(WORDS[Math.floor(r() ** 2 * WORDS.length)]!);
      if (r() < 0.3) ws.push(String(Math.floor(r() * 3000)));
      doc += (r() < 0.2 ? '\n' : '') + ws.join(r() < 0.1 ? '  ' : ' ') + (r() < 0.5 ? '.' : ',') + (r() < 0.3 ? '\n' : ' ');
    }
    if (r() < 0.1) doc += EOT;
    docs.push(doc);
    total += doc.length;
  }
  return docs;
}

const ROUND_TRIP = [
  'Hello world',
  ' leading space',
  '   three leading spaces and trailing   ',
  '\n\nnewlines\r\nand\ttabs\n',
  'unicode: café naïve Zürich Москва 東京 données ¿qué? ½ ∑',
  'emoji 😀👍🏽🇯🇵 family 👨‍👩‍👧 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  'unseen letters: ǅ Ωmega ſ ﬁ 가나다 العربية हिन्दी',
  "it's they're we'll I'm don't IT'S",
  'numbers 2019 10 3.14 1234567890 ٣٤٥',
  'symbols ~!@#$%^&*()_+{}|:"<>?`-=[]\\;\',./',
  'control \u0000\u0001\u007f\u00ad\u200b\ufeff end',
  `before${EOT}after ${EOT} ${EOT}${EOT}`,
  'constructor toString __proto__ hasOwnProperty',
  ' ',
  '\n',
  'x',
];

let tmp = '';
let corpus: string[] = [];
let trained: TokenizerJson;
let dir = '';
let tok: HfTokenizer;
const VOCAB = 600;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpe-trainer-test-'));
  corpus = makeCorpus(1, 60_000);
  trained = trainByteLevelBpe(corpus, { vocabSize: VOCAB });
  dir = path.join(tmp, 'tok');
  writeTokenizerDir(dir, trained, { eosToken: EOT, bosToken: EOT, unkToken: EOT, modelMaxLength: 1024 });
  tok = loadTokenizer(dir);
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('trainByteLevelBpe + writeTokenizerDir + loadTokenizer', () => {
  it('round-trips arbitrary text exactly', () => {
    const r = rng(42);
    const pool = [...'abcxyz ABC  \n\t\r.,;\'"-_0123456789éüß€Ωж東京😀👍🏽\u200d\u0000'];
    const texts = [...ROUND_TRIP, ...corpus.slice(0, 50)];
    for (let i = 0; i < 200; i++) {
      let t = '';
      const n = Math.floor(r() * 40);
      for (let j = 0; j < n; j++) t += pool[Math.floor(r() * pool.length)]!;
      texts.push(t);
    }
    for (const text of texts) {
      const ids = tok.encode(text);
      expect(tok.decode(ids), JSON.stringify(text)).toBe(text);
      expect(ids.every((id) => id >= 0 && id < VOCAB)).toBe(true);
    }
  });

  it('gives offsets that tile the text', () => {
    for (const text of ROUND_TRIP) {
      const { ids, offsets } = tok.encodeWithOffsets(text);
      expect(offsets.length).toBe(ids.length);
      let pos = 0;
      const ascii = /^[\x00-\x7f]*$/.test(text);
      for (const [s, e] of offsets) {
        // no gaps; tokens that split one character's bytes share that character
        if (ascii) expect(s).toBe(pos);
        else expect(s).toBeLessThanOrEqual(pos);
        expect(e).toBeGreaterThanOrEqual(pos);
        pos = e;
      }
      expect(pos).toBe(text.length);
    }
  });

  it('makes frequent words single tokens', () => {
    for (const w of [' the', ' of', ' and', ' river', ' mountain', ' village', ' constructor', ' toString']) {
      expect(tok.encode(w), JSON.stringify(w)).toHaveLength(1);
      expect(tok.idToToken(tok.encode(w)[0]!)).toBe(toByteLevel(w));
    }
    expect(tok.encode('the mountain village').length).toBe(3);
  });

  it('fills the vocabulary to vocabSize and has GPT-2 special ids', () => {
    expect(tok.vocabSize).toBe(VOCAB);
    expect(Object.keys(trained.model.vocab)).toHaveLength(VOCAB);
    expect(trained.model.merges.length).toBeGreaterThanOrEqual(VOCAB - 257);
    expect(new Set(Object.values(trained.model.vocab)).size).toBe(VOCAB);
    expect(Math.max(...Object.values(trained.model.vocab))).toBe(VOCAB - 1);
    expect(tok.eosTokenId).toBe(0);
    expect(tok.bosTokenId).toBe(0);
    expect(tok.padTokenId).toBe(0);
    expect(tok.idToToken(0)).toBe(EOT);
    // every merge's parts and result are in the vocabulary
    for (const [a, b] of trained.model.merges) {
      expect(trained.model.vocab[a]).toBeTypeOf('number');
      expect(trained.model.vocab[b]).toBeTypeOf('number');
      expect(trained.model.vocab[a + b]).toBeTypeOf('number');
    }
  });

  it('stops early at minFrequency and when pairs run out', () => {
    const small = trainByteLevelBpe(['aaab aaab aaab xyz'], { vocabSize: 5000 });
    const n = Object.keys(small.model.vocab).length;
    expect(n).toBeLessThan(5000);
    expect(small.model.merges.length).toBe(n - 257);
    const all = trainByteLevelBpe(['aaab aaab aaab xyz'], { vocabSize: 5000, minFrequency: 1 });
    expect(all.model.vocab['Ġxyz']).toBeTypeOf('number');
    expect(small.model.vocab['Ġxyz']).toBeUndefined();
    expect(small.model.vocab['Ġaaab']).toBeTypeOf('number');
    const tiny = trainByteLevelBpe([], { vocabSize: 257 });
    expect(tiny.model.merges).toEqual([]);
    expect(Object.keys(tiny.model.vocab)).toHaveLength(257);
  });

  it('is deterministic and independent of document order', () => {
    const again = trainByteLevelBpe(corpus, { vocabSize: VOCAB });
    expect(stringifyTokenizerJson(again)).toBe(stringifyTokenizerJson(trained));
    const shuffled = [...corpus].reverse();
    expect(stringifyTokenizerJson(trainByteLevelBpe(shuffled, { vocabSize: VOCAB }))).toBe(stringifyTokenizerJson(trained));
    expect(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')).toBe(stringifyTokenizerJson(trained));
  });

  it('encodes special tokens in text as one token and never learns them', () => {
    const text = `first part${EOT}second part`;
    const ids = tok.encode(text);
    expect(ids.filter((id) => id === 0)).toHaveLength(1);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('first partsecond part');
    for (const t of Object.keys(trained.model.vocab)) {
      if (t !== EOT) expect(t.includes('<|'), t).toBe(false);
    }
    const multi = trainByteLevelBpe(corpus, { vocabSize: 400, specialTokens: [EOT, '<|pad|>', '<|sep|>'] });
    expect(multi.added_tokens.map((t) => [t.id, t.content])).toEqual([[0, EOT], [1, '<|pad|>'], [2, '<|sep|>']]);
    expect(multi.model.vocab['!']).toBe(3);
    const d = path.join(tmp, 'multi');
    writeTokenizerDir(d, multi, { eosToken: EOT, bosToken: EOT, unkToken: EOT, padToken: '<|pad|>', modelMaxLength: 256 });
    const t2 = loadTokenizer(d);
    expect(t2.padTokenId).toBe(1);
    expect(t2.vocabSize).toBe(400);
    const s = `a<|pad|>b<|sep|>${EOT} the`;
    expect(t2.encode(s).filter((id) => id < 3)).toEqual([1, 2, 0]);
    expect(t2.decode(t2.encode(s))).toBe(s);
    expect(encodeByteLevelBpe(multi, s)).toEqual(t2.encode(s));
  });

  it('never learns a special token spelled in byte symbols', () => {
    const docs = Array.from({ length: 50 }, () => 'go the other way, the end');
    const tj = trainByteLevelBpe(docs, { vocabSize: 320, specialTokens: [EOT, 'Ġthe'] });
    expect(tj.model.vocab['Ġthe']).toBe(1);
    expect(tj.model.merges.some(([a, b]) => a + b === 'Ġthe')).toBe(false);
    expect(tj.model.vocab['Ġother']).toBeTypeOf('number');
    const d = path.join(tmp, 'special-bytes');
    writeTokenizerDir(d, tj, { eosToken: EOT, bosToken: EOT, unkToken: EOT, modelMaxLength: 64 });
    const t = loadTokenizer(d);
    for (const text of docs.slice(0, 1).concat(['the the the', ' the', 'Ġthe and the'])) {
      expect(t.decode(t.encode(text))).toBe(text);
      expect(encodeByteLevelBpe(tj, text)).toEqual(t.encode(text));
    }
    expect(t.encode(' the')).not.toContain(1);
    expect(() => trainByteLevelBpe(docs, { vocabSize: 320, specialTokens: ['!'] })).toThrow(/byte symbols/);
  });

  it('mirrors the layout of a tokenizer.json written by HF tokenizers', () => {
    const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    const ours = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(ours)).toEqual(Object.keys(fixture));
    for (const key of ['version', 'truncation', 'padding', 'added_tokens', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
      expect(ours[key], key).toEqual(fixture[key]);
    }
    const fm = fixture['model'] as Record<string, unknown>;
    const om = ours['model'] as Record<string, unknown>;
    expect(Object.keys(om)).toEqual(Object.keys(fm));
    for (const key of Object.keys(fm)) if (key !== 'vocab' && key !== 'merges') expect(om[key], key).toEqual(fm[key]);
    // special token + the byte alphabet in code-point order: the same first 257 ids as HF's trainer
    const fv = fm['vocab'] as Record<string, number>;
    const ov = om['vocab'] as Record<string, number>;
    for (const [t, id] of Object.entries(fv)) if (id < 257) expect(ov[t], t).toBe(id);
    expect(new Set(Object.keys(ov))).toEqual(new Set([EOT, ...bytesToUnicode(), ...Object.keys(ov).filter((t) => ov[t]! >= 257)]));
    for (const m of om['merges'] as unknown[]) {
      expect(Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string').toBe(true);
    }
    // the file lists the vocabulary in id order (integer-like tokens such as "10" included)
    const text = fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8');
    const section = text.slice(text.indexOf('"vocab": {'), text.indexOf('"merges": ['));
    const ids = [...section.matchAll(/^ {6}".*": (\d+),?$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual([...Array(VOCAB).keys()]);
    expect(ov['10']).toBeGreaterThan(256);

    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as unknown;
    const fixtureCfg = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'tokenizer_config.json'), 'utf8')) as unknown;
    expect(cfg).toEqual(fixtureCfg);
  });

  it('reference encoder agrees with @huggingface/tokenizers', () => {
    const texts = [...corpus.slice(0, 300), ...ROUND_TRIP, ...makeCorpus(7, 5000)];
    for (const text of texts) {
      expect(encodeByteLevelBpe(trained, text), JSON.stringify(text)).toEqual(tok.encode(text));
    }
  });

  it('matches a naive full-recount trainer merge for merge', () => {
    const r = rng(3);
    for (let trial = 0; trial < 24; trial++) {
      const letters = trial % 3 === 0 ? 'ab ' : trial % 3 === 1 ? 'aaab \n' : 'abcdé日 \n.1😀';
      const docs: string[] = [];
      for (let d = 0; d < 20; d++) {
        let s = '';
        const n = 5 + Math.floor(r() * 60);
        for (let i = 0; i < n; i++) s += [...letters][Math.floor(r() * [...letters].length)]!;
        docs.push(s);
      }
      const vocabSize = 262 + Math.floor(r() * 120);
      const minFrequency = 1 + Math.floor(r() * 3);
      const fast = trainByteLevelBpe(docs, { vocabSize, minFrequency });
      expect(fast.model.merges, `trial ${trial}`).toEqual(naiveMerges(docs, vocabSize, minFrequency));
      // one merge per new token
      expect(fast.model.merges.length).toBe(Object.keys(fast.model.vocab).length - 257);
    }
  });

  it('rejects bad arguments', () => {
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 256 })).toThrow(/vocabSize/);
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 300.5 })).toThrow(/vocabSize/);
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 300, specialTokens: ['a', 'a'] })).toThrow(/duplicate/);
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 300, specialTokens: [''] })).toThrow(/non-empty/);
    expect(() => trainByteLevelBpe(['x'], { vocabSize: 300, minFrequency: 0 })).toThrow(/minFrequency/);
    expect(() => trainByteLevelBpe([1 as unknown as string], { vocabSize: 300 })).toThrow(/corpus\[0\]/);
    expect(() => writeTokenizerDir(path.join(tmp, 'bad'), trained, { eosToken: '<|eos|>', bosToken: EOT, unkToken: EOT, modelMaxLength: 8 }))
      .toThrow(/eosToken/);
    expect(fs.existsSync(path.join(tmp, 'bad'))).toBe(false);
  });

  it('trains a 4000-token vocabulary on ~1 MB in a few seconds', () => {
    // ~20k made-up words, Zipf-distributed, so that 4000 tokens are reachable
    const r = rng(11);
    const syl = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'an', 'or', 'el', 'is', 'um', 'ba', 'de', 'fi', 'go', 'th', 'qu'];
    const lexicon: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      let w = '';
      for (let j = 0, n = 1 + Math.floor(r() * 4); j < n; j++) w += syl[Math.floor(r() * syl.length)]!;
      lexicon.push(r() < 0.1 ? w[0]!.toUpperCase() + w.slice(1) : w);
    }
    const big = makeCorpus(11, 300_000);
    for (let total = 300_000; total < 1_000_000;) {
      const ws: string[] = [];
      for (let i = 0; i < 60; i++) ws.push(lexicon[Math.floor(lexicon.length * r() ** 3)]!);
      const doc = ws.join(' ') + (r() < 0.5 ? '.\n' : ', ' + String(Math.floor(r() * 10_000)) + '.\n');
      big.push(doc);
      total += doc.length;
    }
    const t0 = performance.now();
    const tj = trainByteLevelBpe(big, { vocabSize: 4000 });
    const ms = performance.now() - t0;
    console.log(`bpe-trainer: ${big.reduce((a, d) => a + Buffer.byteLength(d), 0)} bytes, `
      + `${Object.keys(tj.model.vocab).length} tokens, ${ms.toFixed(0)} ms`);
    expect(Object.keys(tj.model.vocab)).toHaveLength(4000);
    expect(ms).toBeLessThan(20_000);
  });
});

/** Full recount per merge over byte-level strings; ties to the smallest (left id, right id). */
function naiveMerges(docs: string[], vocabSize: number, minFrequency: number): [string, string][] {
  const counts = new Map<string, number>();
  for (const d of docs) for (const p of preTokenize(d)) counts.set(toByteLevel(p), (counts.get(toByteLevel(p)) ?? 0) + 1);
  const words = [...counts].map(([w, c]) => ({ s: [...w], c }));
  const vocab = new Map<string, number>([[EOT, 0]]);
  for (const ch of [...bytesToUnicode()].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0))) vocab.set(ch, vocab.size);
  const merges: [string, string][] = [];
  while (vocab.size < vocabSize) {
    const pc = new Map<string, [string, string, number]>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.s.length; i++) {
        const k = `${w.s[i]!}\u0000${w.s[i + 1]!}`;
        const e = pc.get(k) ?? [w.s[i]!, w.s[i + 1]!, 0];
        e[2] += w.c;
        pc.set(k, e);
      }
    }
    let best: [string, string, number] | null = null;
    for (const e of pc.values()) {
      if (best === null || e[2] > best[2] || (e[2] === best[2] && (vocab.get(e[0])! < vocab.get(best[0])!
        || (vocab.get(e[0]) === vocab.get(best[0]) && vocab.get(e[1])! < vocab.get(best[1])!)))) best = e;
    }
    if (best === null || best[2] < minFrequency) break;
    const [a, b] = best;
    if (!merges.some(([x, y]) => x === a && y === b)) merges.push([a, b]);
    if (!vocab.has(a + b)) vocab.set(a + b, vocab.size);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.s.length;) {
        if (i + 1 < w.s.length && w.s[i] === a && w.s[i + 1] === b) {
          out.push(a + b);
          i += 2;
        } else {
          out.push(w.s[i]!);
          i++;
        }
      }
      w.s = out;
    }
  }
  return merges;
}
