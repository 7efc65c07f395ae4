// camels/data/io.ts on bytes that are not UTF-8: CSV, JSON and JSON Lines files are refused with a
// DataError naming the file, line and byte offset; the 'replace' policy (argument or CAMELS_UTF8)
// reads the invalid bytes as U+FFFD, also inside answers.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../camels/data/errors.js';
import { readCsvTable, readJsonFile, readJsonLines, readTextFile } from '../../camels/data/io.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camels-data-utf8-'));
const write = (name: string, ...parts: (string | number[])[]) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))));
  return file;
};
const hint = 're-save the file as UTF-8, or set CAMELS_UTF8=replace to read invalid bytes as U+FFFD';

describe('invalid UTF-8 in data files', () => {
  const head = 'text,question,answers\n"A doc.","Q?","x"\n"B doc.","Q2?","Caf';
  const csv = write('bad.csv', head, [0xe9], '"\n');

  it('CSV: a DataError with line and byte offset', () => {
    expect(() => readCsvTable(csv, ['text'])).toThrow(DataError);
    expect(() => readCsvTable(csv, ['text'])).toThrow(`CSV file ${csv}: not valid UTF-8: line 3, byte offset ${Buffer.byteLength(head)} (byte 0xe9); ${hint}`);
  });

  it('JSON and JSON Lines likewise', () => {
    const json = write('bad.json', '{\n  "a": "', [0xc3, 0x28], '"\n}\n');
    expect(() => readJsonFile(json)).toThrow(`JSON file ${json}: not valid UTF-8: line 2, byte offset ${Buffer.byteLength('{\n  "a": "')} (byte 0xc3); ${hint}`);
    const jsonl = write('bad.jsonl', '{"a": 1}\n{"a": 2}\n{"a": "', [0xff], '"}\n');
    expect(() => readJsonLines(jsonl)).toThrow(`JSON Lines file ${jsonl}: not valid UTF-8: line 3, byte offset ${Buffer.byteLength('{"a": 1}\n{"a": 2}\n{"a": "')} (byte 0xff); ${hint}`);
  });

  it("policy 'replace' (argument, or CAMELS_UTF8=replace for every loader)", () => {
    expect(readTextFile(csv, 'CSV file', 'replace')).toContain('Caf\uFFFD"');
    const old = process.env.CAMELS_UTF8;
    process.env.CAMELS_UTF8 = 'replace';
    try {
      expect(readCsvTable(csv, ['answers']).rows[1]!.cells.answers).toBe('Caf\uFFFD');
    } finally {
      if (old === undefined) delete process.env.CAMELS_UTF8;
      else process.env.CAMELS_UTF8 = old;
    }
  });

  it('valid UTF-8 (with a BOM) still reads as before', () => {
    const ok = write('ok.csv', '\uFEFFtext,question,answers\n"Café","Q?","naïve"\n');
    expect(readCsvTable(ok, ['text']).rows[0]!.cells).toEqual({ text: 'Café', question: 'Q?', answers: 'naïve' });
  });
});
