// Strict UTF-8 decoding of text files: an invalid byte is an error naming the file, the line and
// the byte offset of the first invalid byte, unless replacement (U+FFFD) is asked for with the
// environment variable CAMELS_UTF8=replace or the `policy` argument.

import fs from 'node:fs';
import { describeFsError } from './fs-errors.js';

/** 'strict' (default): invalid UTF-8 is an error. 'replace': invalid sequences become U+FFFD. */
export type Utf8Policy = 'strict' | 'replace';

/** A text file is not valid UTF-8. */
export class Utf8Error extends Error {
  /** The message without the leading file name. */
  readonly detail: string;
  constructor(
    readonly file: string,
    /** 1-based line of the first invalid byte. */
    readonly line: number,
    /** 0-based byte offset of the first invalid byte in the file. */
    readonly byteOffset: number,
    readonly byte: number,
  ) {
    const detail =
      `not valid UTF-8: line ${line}, byte offset ${byteOffset} (byte 0x${byte.toString(16).padStart(2, '0')}); ` +
      're-save the file as UTF-8, or set CAMELS_UTF8=replace to read invalid bytes as U+FFFD';
    super(`${file}: ${detail}`);
    this.detail = detail;
    this.name = 'Utf8Error';
  }
}

/** The policy of the environment: CAMELS_UTF8 = strict (default) | replace. */
export function utf8Policy(env: NodeJS.ProcessEnv = process.env): Utf8Policy {
  const v = env.CAMELS_UTF8;
  if (v === undefined || v === '' || v === 'strict') return 'strict';
  if (v === 'replace') return 'replace';
  throw new Error(`CAMELS_UTF8 must be 'strict' or 'replace', got '${v}'`);
}

/**
 * Offset of the first byte that starts an ill-formed UTF-8 sequence (WHATWG / Unicode rules: no
 * overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence), or -1 if `b` is
 * valid. For an ill-formed multi-byte sequence the offset is that of its lead byte.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      if (c === 0xf4) hi = 0x8f; // > U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined || d < lo || d > hi) return i;
      lo = 0x80;
      hi = 0xbf;
    }
    i += need + 1;
  }
  return -1;
}

/** Decode `bytes` (the content of `file`) as UTF-8; a leading BOM is kept, as readFileSync(…, 'utf8') does. */
export function decodeUtf8(bytes: Uint8Array, file: string, policy: Utf8Policy = utf8Policy()): string {
  if (policy === 'replace') return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    const at = firstInvalidUtf8(bytes);
    if (at < 0) throw err; // cannot happen: both follow the WHATWG decoder
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    throw new Utf8Error(file, line, at, bytes[at] ?? 0);
  }
}

/**
 * Read a text file as UTF-8 under `policy` (default: CAMELS_UTF8). A read failure is an FsError
 * (see fs-errors.ts) saying what happened and where; invalid UTF-8 is a Utf8Error.
 */
export function readUtf8File(file: string, policy: Utf8Policy = utf8Policy()): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw describeFsError(err, file, 'read');
  }
  return decodeUtf8(bytes, file, policy);
}
