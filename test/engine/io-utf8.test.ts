// engine/io/utf8.ts: the first-invalid-byte finder against the WHATWG decoder (TextDecoder fatal),
// the error's line and offset, the BOM kept, and the replace policy (argument and CAMELS_UTF8).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeUtf8, firstInvalidUtf8, readUtf8File, utf8Policy, Utf8Error } from '../../engine/io/utf8.js';
import { FsError } from '../../engine/io/fs-errors.js';

const valid = (b: Uint8Array) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
};

describe('firstInvalidUtf8', () => {
  it('agrees with TextDecoder(fatal) on edge cases', () => {
    const cases: [number[], number][] = [
      [[0x61, 0x62], -1],
      [[0xc3, 0xa9], -1], // é
      [[0xe2, 0x82, 0xac], -1], // €
      [[0xf0, 0x9f, 0x98, 0x80], -1], // 😀
      [[0x61, 0xff], 1],
      [[0xc0, 0xaf], 0], // overlong '/'
      [[0xe0, 0x80, 0xaf], 0], // overlong
      [[0xed, 0xa0, 0x80], 0], // surrogate U+D800
      [[0xf4, 0x90, 0x80, 0x80], 0], // > U+10FFFF
      [[0x61, 0xe2, 0x82], 1], // truncated at the end
      [[0x61, 0x80], 1], // lone continuation byte
      [[0xc3, 0x41], 0],
    ];
    for (const [bytes, at] of cases) {
      const b = Uint8Array.from(bytes);
      expect(firstInvalidUtf8(b), bytes.join(',')).toBe(at);
      expect(valid(b)).toBe(at < 0);
    }
  });

  it('agrees with TextDecoder(fatal) on random bytes, and the prefix before it is valid', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let t = 0; t < 3000; t++) {
      const n = 1 + Math.floor(rnd() * 8);
      // mostly plausible UTF-8 pieces so both outcomes are frequent
      const b = Uint8Array.from({ length: n }, () => [0x41, 0xc3, 0xa9, 0xe2, 0x82, 0xf0, 0x9f, 0x80, 0xed, 0xa0, 0xff, 0xf4, 0x90][Math.floor(rnd() * 13)]!);
      const at = firstInvalidUtf8(b);
      expect(at < 0, Array.from(b).join(',')).toBe(valid(b));
      if (at >= 0) expect(valid(b.subarray(0, at))).toBe(true);
    }
  });
});

describe('decodeUtf8 / readUtf8File', () => {
  const bytes = Buffer.concat([Buffer.from('\uFEFFline one\nline two\nab'), Buffer.from([0xff]), Buffer.from('c\n')]);

  it('strict: a Utf8Error with the file, line and byte offset', () => {
    let err: unknown;
    try {
      decodeUtf8(bytes, 'f.txt', 'strict');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Utf8Error);
    const u = err as Utf8Error;
    expect([u.line, u.byteOffset, u.byte]).toEqual([3, bytes.indexOf(0xff), 0xff]);
    expect(u.message).toBe(`f.txt: not valid UTF-8: line 3, byte offset ${bytes.indexOf(0xff)} (byte 0xff); re-save the file as UTF-8, or set CAMELS_UTF8=replace to read invalid bytes as U+FFFD`);
  });

  it('replace: U+FFFD; valid text decodes as readFileSync does (BOM kept)', () => {
    expect(decodeUtf8(bytes, 'f.txt', 'replace')).toBe('\uFEFFline one\nline two\nab\uFFFDc\n');
    const ok = Buffer.from('\uFEFFé€😀\n');
    expect(decodeUtf8(ok, 'f.txt', 'strict')).toBe(ok.toString('utf8'));
  });

  it('CAMELS_UTF8 selects the policy; readUtf8File follows it; a missing file is an FsError', () => {
    expect(utf8Policy({})).toBe('strict');
    expect(utf8Policy({ CAMELS_UTF8: 'replace' })).toBe('replace');
    expect(() => utf8Policy({ CAMELS_UTF8: 'yes' })).toThrow("CAMELS_UTF8 must be 'strict' or 'replace', got 'yes'");
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'camels-utf8-')), 'x.txt');
    fs.writeFileSync(file, bytes);
    expect(() => readUtf8File(file, 'strict')).toThrow(Utf8Error);
    const old = process.env.CAMELS_UTF8;
    process.env.CAMELS_UTF8 = 'replace';
    try {
      expect(readUtf8File(file)).toContain('ab\uFFFDc');
    } finally {
      if (old === undefined) delete process.env.CAMELS_UTF8;
      else process.env.CAMELS_UTF8 = old;
    }
    expect(() => readUtf8File(`${file}.missing`)).toThrow(FsError);
    expect(() => readUtf8File(`${file}.missing`)).toThrow(`cannot read ${file}.missing: no such file or directory (ENOENT)`);
  });
});
