// File reading shared by the dataset loaders: text files with a clear "not found" error and strict
// UTF-8 (the first invalid byte's line and offset; CAMELS_UTF8=replace reads it as U+FFFD), CSV
// tables (csv-parse) with named missing columns and line numbers, and JSON / JSON Lines with the
// file, line and column of a syntax error.

import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { describeFsError } from '../../engine/io/fs-errors.js';
import { decodeUtf8, utf8Policy, Utf8Error, type Utf8Policy } from '../../engine/io/utf8.js';
import { DataError } from './errors.js';

/**
 * Read a UTF-8 text file; a missing path, a directory, an unreadable file, invalid UTF-8 (under the
 * 'strict' policy, the default unless CAMELS_UTF8=replace) or an empty file is a DataError naming the path.
 */
export function readTextFile(path: string, what = 'data file', policy: Utf8Policy = utf8Policy()): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${what} not found: ${path}`, path);
    if (code === 'EISDIR') throw new DataError(`${what} is a directory, expected a file: ${path}`, path);
    throw new DataError(describeFsError(err, path, `read ${what}`).message, path);
  }
  let text: string;
  try {
    text = decodeUtf8(bytes, path, policy);
  } catch (err) {
    if (err instanceof Utf8Error) throw new DataError(`${what} ${err.message}`, path);
    throw err;
  }
  if (text.trim().length === 0) throw new DataError(`${what} is empty: ${path}`, path);
  return text;
}

/** One CSV data row: the line it starts on (1-based, header = line 1 usually) and its cells by column. */
export interface CsvRow {
  line: number;
  cells: Record<string, string>;
}

export interface CsvTable {
  file: string;
  header: string[];
  rows: CsvRow[];
}

/**
 * Read a CSV file with a header row (RFC 4180 quoting, UTF-8, optional BOM, blank lines ignored, as
 * pandas.read_csv does by default). Every column in `required` must be in the header, else a DataError
 * names the file and the missing columns. A row with more cells than the header is an error (as in
 * pandas); a row with fewer gets '' for the missing cells (pandas: NaN).
 */
export function readCsvTable(path: string, required: readonly string[]): CsvTable {
  const text = readTextFile(path, 'CSV file');
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    parsed = parseCsv(text, { bom: true, relax_column_count: true, skip_empty_lines: true, info: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (err) {
    throw new DataError(`${path}: malformed CSV: ${(err as Error).message}`, path);
  }
  if (parsed.length === 0) throw new DataError(`CSV file is empty: ${path}`, path);
  const header = parsed[0]!.record.map((h) => h.trim());
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new DataError(
      `${path}: missing column(s) ${missing.map((c) => JSON.stringify(c)).join(', ')} ` +
        `(found: ${header.map((c) => JSON.stringify(c)).join(', ')})`,
      path,
    );
  }
  if (parsed.length === 1) throw new DataError(`CSV file has a header but no data rows: ${path}`, path);
  const rows: CsvRow[] = [];
  for (let r = 1; r < parsed.length; r++) {
    const { record, info } = parsed[r]!;
    // info.lines is the line on which the record ends; step back over newlines inside quoted cells.
    let line = info.lines;
    for (const cell of record) for (const ch of cell) if (ch === '\n') line -= 1;
    if (record.length > header.length) {
      throw new DataError(
        `${path}: line ${line}: ${record.length} cells but the header has ${header.length} columns`,
        path,
      );
    }
    const cells: Record<string, string> = {};
    // Duplicate header names: the first occurrence wins.
    for (let c = header.length - 1; c >= 0; c--) cells[header[c]!] = record[c] ?? '';
    rows.push({ line, cells });
  }
  return { file: path, header, rows };
}

/** 1-based line and column of a string offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Offset of the first JSON syntax error in `text` (RFC 8259), or -1 if it is valid. Used only after
 * JSON.parse has failed, because V8's messages do not always carry a position.
 */
export function findJsonSyntaxError(text: string): number {
  let i = 0;
  const n = text.length;
  class Stop {
    constructor(readonly at: number) {}
  }
  const fail = (): never => {
    throw new Stop(i);
  };
  const skipWs = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const isDigit = (c: number): boolean => c >= 48 && c <= 57;
  const literal = (word: string): void => {
    for (let k = 0; k < word.length; k++, i++) if (text[i] !== word[k]) fail();
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fail();
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c === 92) {
        i++;
        const e = text[i];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i++;
        else if (e === 'u') {
          i++;
          for (let k = 0; k < 4; k++, i++) if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail();
        } else fail();
      } else if (c < 32) fail();
      else i++;
    }
  };
  const number = (): void => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (isDigit(text.charCodeAt(i))) while (isDigit(text.charCodeAt(i))) i++;
    else fail();
    if (text[i] === '.') {
      i++;
      if (!isDigit(text.charCodeAt(i))) fail();
      while (isDigit(text.charCodeAt(i))) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!isDigit(text.charCodeAt(i))) fail();
      while (isDigit(text.charCodeAt(i))) i++;
    }
  };
  const value = (): void => {
    skipWs();
    const c = text[i];
    if (c === '{') {
      i++;
      skipWs();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        skipWs();
        if (text[i] !== '"') fail();
        string();
        skipWs();
        if (text[i] !== ':') fail();
        i++;
        value();
        skipWs();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    } else if (c === '[') {
      i++;
      skipWs();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        skipWs();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || isDigit(text.charCodeAt(i))) number();
    else fail();
  };
  try {
    value();
    skipWs();
    if (i < n) fail();
    return -1;
  } catch (err) {
    if (err instanceof Stop) return err.at;
    throw err;
  }
}

/** JSON.parse with a DataError naming `file`, the line/column (and offset) of a syntax error. */
export function parseJsonText(text: string, file: string, lineOffset = 0): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    let at = findJsonSyntaxError(text);
    if (at < 0) {
      const m = /position (\d+)/.exec((err as Error).message);
      at = m ? Number(m[1]) : text.length;
    }
    const { line, column } = lineAndColumn(text, at);
    const where = at >= text.length ? 'unexpected end of input' : `line ${line + lineOffset}, column ${column}`;
    throw new DataError(`${file}: malformed JSON at ${where} (offset ${at}): ${(err as Error).message}`, file);
  }
}

/** Read a .json file. */
export function readJsonFile(path: string): unknown {
  // A leading BOM is not JSON; strip it as Python's json.load(open(..., encoding='utf-8-sig')) would.
  return parseJsonText(readTextFile(path, 'JSON file').replace(/^\uFEFF/, ''), path);
}

/** Read a JSON Lines file: one JSON value per non-blank line; errors name the line. */
export function readJsonLines(path: string): { line: number; value: unknown }[] {
  const text = readTextFile(path, 'JSON Lines file').replace(/^\uFEFF/, '');
  const out: { line: number; value: unknown }[] = [];
  const lines = text.split('\n');
  for (let k = 0; k < lines.length; k++) {
    const raw = lines[k]!.replace(/\r$/, '');
    if (raw.trim().length === 0) continue;
    out.push({ line: k + 1, value: parseJsonText(raw, path, k) });
  }
  return out;
}
