// Dataset loaders on small files in each real format (written to a temp dir), stream formation, and the
// error cases: missing file, missing column, empty file, empty rows, malformed CSV/JSON.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DataError,
  findJsonSyntaxError,
  formArchivalQAStream,
  formGroupedStream,
  formSquadStream,
  formStreamingQAStream,
  loadArchivalQA,
  loadOpenWebText,
  loadSquad,
  loadSquadSplit,
  loadStreamingQA,
  Prng,
  pySplit,
  pyStrip,
  readJsonLines,
  shortest,
  SQUAD_SPLITS,
  truncateAll,
  truncateTokens,
  uniqueInOrder,
  upperFirstIfLower,
  type QaExample,
} from '../../camels/data/index.js';

let dir = '';
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text, 'utf8');
  return p;
};
const quiet = { onWarning: () => {} };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'camels-data-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------ StreamingQA

const STREAMINGQA_CSV = [
  'qa_id,text,question,answers',
  'q1,"Paris is the capital of France, a country in Europe.",  What is the capital of France?  ,"the city of Paris\\Paris\\Paris, France"',
  'q2,"A document\nwith two lines.",Who wrote it?,Alice\\Bob\\Eve',
  'q3,Empty answers here.,Anything?,',
  'q4,,No text?,x',
  'q5,"Paris is the capital of France, a country in Europe.",Which country?,France\\\\',
].join('\r\n');

describe('StreamingQA loader', () => {
  it('reads rows, picks the shortest reference, strips the question, skips empty rows with one warning', () => {
    const warnings: string[] = [];
    const p = file('sqa.csv', '\ufeff' + STREAMINGQA_CSV + '\r\n');
    const { records, skipped } = loadStreamingQA(p, { onWarning: (m) => warnings.push(m) });
    expect(records.map((r) => r.question)).toEqual(['What is the capital of France?', 'Who wrote it?', 'Which country?']);
    expect(records[0]!.answers).toEqual(['the city of Paris', 'Paris', 'Paris, France']);
    expect(records[0]!.answer).toBe('Paris');
    expect(records[1]!.answer).toBe('Bob'); // the first of the shortest (Bob, Eve)
    expect(records[1]!.document).toBe('A document\nwith two lines.');
    expect(records[2]!.answer).toBe('France'); // empty references from stray separators are dropped
    expect(records[0]!.cells['qa_id']).toBe('q1');
    expect(records.map((r) => r.row)).toEqual([0, 1, 4]);
    expect(records.map((r) => r.line)).toEqual([2, 3, 7]);
    expect(skipped).toEqual({ count: 2, where: [5, 6] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/sqa\.csv: skipped 2 row\(s\).*lines 5, 6/);
  });
  it('throws on an empty row under emptyRows: error, naming file and line', () => {
    const p = file('sqa2.csv', STREAMINGQA_CSV);
    expect(() => loadStreamingQA(p, { emptyRows: 'error' })).toThrow(/sqa2\.csv: line 5: no non-empty reference/);
  });
  it('reports a missing file, missing columns, an empty file and a header-only file', () => {
    const missing = join(dir, 'nope', 'test.csv');
    expect(() => loadStreamingQA(missing)).toThrow(DataError);
    expect(() => loadStreamingQA(missing)).toThrow(`CSV file not found: ${missing}`);
    const p = file('cols.csv', 'text,question\na,b\n');
    expect(() => loadStreamingQA(p)).toThrow(/cols\.csv: missing column\(s\) "answers" \(found: "text", "question"\)/);
    expect(() => loadStreamingQA(file('empty.csv', ''))).toThrow(/CSV file is empty: .*empty\.csv/);
    expect(() => loadStreamingQA(file('blank.csv', '\n \n'))).toThrow(/is empty/);
    expect(() => loadStreamingQA(file('header.csv', 'text,question,answers\n'))).toThrow(/header but no data rows/);
    mkdirSync(join(dir, 'adir.csv'));
    expect(() => loadStreamingQA(join(dir, 'adir.csv'))).toThrow(/is a directory/);
  });
  it('reports malformed CSV and rows with too many cells', () => {
    expect(() => loadStreamingQA(file('bad.csv', 'text,question,answers\n"unclosed,q,a\n'))).toThrow(/bad\.csv: malformed CSV/);
    expect(() => loadStreamingQA(file('wide.csv', 'text,question,answers\na,b,c\nd,e,f,g\n'))).toThrow(
      /wide\.csv: line 3: 4 cells but the header has 3 columns/,
    );
  });
});

// ----------------------------------------------------------------------------------------------- SQuAD

const NESTED = {
  version: '1.1',
  data: [
    {
      title: 'Alpha',
      paragraphs: [
        {
          context: 'Alpha context one.',
          qas: [
            { id: 'a1', question: ' First? ', answers: [{ text: '  paris  ', answer_start: 0 }, { text: 'the city of paris', answer_start: 0 }] },
            { id: 'a2', question: 'Second?', answers: [{ text: 'Lyon', answer_start: 3 }] },
          ],
        },
        { context: 'Alpha context two.', qas: [{ id: 'a3', question: 'Third?', answers: [{ text: 'élan', answer_start: 1 }] }] },
      ],
    },
    {
      title: 'Beta',
      paragraphs: [
        {
          context: 'Beta context.',
          qas: [
            { id: 'b1', question: 'Fourth?', answers: [{ text: '1990', answer_start: 0 }] },
            { id: 'b2', question: 'Unanswerable?', answers: [] },
          ],
        },
      ],
    },
  ],
};

const flatRows = [
  { id: 'a1', title: 'Alpha', context: 'Alpha context one.', question: ' First? ', answers: { text: ['  paris  ', 'the city of paris'], answer_start: [0, 0] } },
  { id: 'a2', title: 'Alpha', context: 'Alpha context one.', question: 'Second?', answers: { text: ['Lyon'], answer_start: [3] } },
  { id: 'a3', title: 'Alpha', context: 'Alpha context two.', question: 'Third?', answers: { text: ['élan'], answer_start: [1] } },
  { id: 'b1', title: 'Beta', context: 'Beta context.', question: 'Fourth?', answers: { text: ['1990'], answer_start: [0] } },
  { id: 'b2', title: 'Beta', context: 'Beta context.', question: 'Unanswerable?', answers: { text: [], answer_start: [] } },
];

describe('SQuAD loader', () => {
  it('flattens the official nested JSON; gold = shortest, stripped, first letter upper-cased', () => {
    const { records, skipped } = loadSquad(file('dev-v1.1.json', JSON.stringify(NESTED)), quiet);
    expect(records.map((r) => r.id)).toEqual(['a1', 'a2', 'a3', 'b1']);
    expect(records.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect(records.map((r) => r.answer)).toEqual(['Paris', 'Lyon', 'Élan', '1990']);
    expect(records[0]!.question).toBe('First?');
    expect(records[0]!.answers).toEqual(['  paris  ', 'the city of paris']);
    expect(records[0]!.answerStarts).toEqual([0, 0]);
    expect(records[2]!.title).toBe('Alpha');
    expect(records[2]!.document).toBe('Alpha context two.');
    expect(skipped).toEqual({ count: 1, where: [4] });
  });
  it('reads HF flat rows as a JSON array, {"data": [...]}, and JSON Lines (also under a .json name)', () => {
    const expected = loadSquad(file('n.json', JSON.stringify(NESTED)), quiet).records;
    const strip = (rs: typeof expected) => rs.map(({ index, id, title, context, question, answer, answers }) => ({ index, id, title, context, question, answer, answers }));
    const jsonl = flatRows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    for (const [name, text] of [
      ['flat.json', JSON.stringify(flatRows)],
      ['wrapped.json', JSON.stringify({ data: flatRows })],
      ['rows.jsonl', jsonl],
      ['hf_to_json.json', jsonl],
    ] as const) {
      expect(strip(loadSquad(file(name, text), quiet).records)).toEqual(strip(expected));
    }
  });
  it('slices by original row index, with the reference split constants', () => {
    const p = file('train.json', JSON.stringify(flatRows));
    expect(loadSquad(p, { ...quiet, range: [1, 3] }).records.map((r) => r.id)).toEqual(['a2', 'a3']);
    expect(loadSquad(p, { ...quiet, range: [2, -1] }).records.map((r) => r.id)).toEqual(['a3', 'b1']);
    expect(() => loadSquad(p, { range: [0, 9] })).toThrow(/row range \[0, 9\) is outside the file's 5 rows/);
    expect(SQUAD_SPLITS.metaTrain.range).toEqual([42118, 82011]);
    expect(SQUAD_SPLITS.qaTune.range).toEqual([0, 40006]);
    expect(() => loadSquadSplit(p, 'metaVal')).toThrow(/outside the file's 5 rows/);
    expect(loadSquadSplit(p, 'test', quiet).records).toHaveLength(4);
  });
  it('reports malformed JSON with file, line and column', () => {
    const p = file('broken.json', '{\n  "data": [\n    {"title": "x",, }\n  ]\n}');
    expect(() => loadSquad(p)).toThrow(/broken\.json: malformed JSON at line 3, column 19/);
    const t = file('trunc.json', '{"data": [');
    expect(() => loadSquad(t)).toThrow(/trunc\.json: malformed JSON at unexpected end of input/);
    const l = file('badline.jsonl', JSON.stringify(flatRows[0]) + '\n{"id": tru}\n');
    expect(() => loadSquad(l)).toThrow(/badline\.jsonl: malformed JSON at line 2, column 11/);
    expect(() => loadSquad(file('notsquad.json', '{"foo": 1}'))).toThrow(/not a SQuAD file/);
    expect(loadSquad(file('one.jsonl', JSON.stringify(flatRows[1]) + '\n')).records.map((r) => r.id)).toEqual(['a2']);
    expect(() => loadSquad(file('norows.json', '[]'))).toThrow(/no rows/);
    expect(() => loadSquad(file('nofield.json', JSON.stringify([{ id: 'x', title: 't', question: 'q', answers: { text: ['a'] } }])))).toThrow(
      /nofield\.json: row 0: missing or non-string field "context"/,
    );
    expect(() => loadSquad(join(dir, 'absent.json'))).toThrow(/SQuAD file not found: .*absent\.json/);
  });
  it('JSON Lines reader names the line', () => {
    expect(readJsonLines(file('ok.jsonl', '{"a": 1}\n\n[2]\n'))).toEqual([{ line: 1, value: { a: 1 } }, { line: 3, value: [2] }]);
  });
});

// ------------------------------------------------------------------------------------------ ArchivalQA

const ARCHIVAL_CSV = [
  'doc_id,para_num,ans_paragraph,question,answer,ans_text',
  'd1,2,Para two of d1.,Q d1p2?,mayor smith,"Para zero of d1.\nPara one of d1.\nPara two of d1."',
  'd1,0,Para zero of d1.,Q d1p0?,Boston,"Para zero of d1.\nPara one of d1.\nPara two of d1."',
  'd2,1,Para one of d2.,Q d2p1?, lower,"Para zero of d2.\nPara one of d2."',
  'd1,0,Para zero of d1.,Q d1p0 again?,1987,"Para zero of d1.\nPara one of d1.\nPara two of d1."',
  'd2,0,Para zero of d2.,  ,x,"Para zero of d2.\nPara one of d2."',
].join('\n');

describe('ArchivalQA loader', () => {
  it('reads the columns, parses para_num, capitalises the answer, skips empty rows', () => {
    const { records, skipped } = loadArchivalQA(file('test_aqa.csv', ARCHIVAL_CSV), quiet);
    expect(records.map((r) => [r.docId, r.paraNum])).toEqual([['d1', 2], ['d1', 0], ['d2', 1], ['d1', 0]]);
    expect(records.map((r) => r.answer)).toEqual(['Mayor smith', 'Boston', ' lower', '1987']);
    expect(records[0]!.document).toBe('Para two of d1.');
    expect(records[0]!.fullText).toContain('Para one of d1.');
    expect(skipped.count).toBe(1);
    const full = loadArchivalQA(file('full.csv', ARCHIVAL_CSV), { ...quiet, fullPassage: true }).records;
    expect(full[0]!.document).toBe('Para zero of d1.\nPara one of d1.\nPara two of d1.');
  });
  it('requires ans_text only with fullPassage, and an integer para_num', () => {
    const noFull = file('nofull.csv', 'doc_id,para_num,ans_paragraph,question,answer\nd,1,p,q,a\n');
    expect(loadArchivalQA(noFull).records).toHaveLength(1);
    expect(() => loadArchivalQA(noFull, { fullPassage: true })).toThrow(/nofull\.csv: missing column\(s\) "ans_text"/);
    const bad = file('badnum.csv', 'doc_id,para_num,ans_paragraph,question,answer\nd,1.5,p,q,a\n');
    expect(() => loadArchivalQA(bad)).toThrow(/badnum\.csv: line 2: column "para_num" is not an integer: "1\.5"/);
  });
});

// ----------------------------------------------------------------------------------------- OpenWebText

describe('OpenWebText loader', () => {
  it('reads raw_text and reports a missing column', () => {
    const r = loadOpenWebText(file('8k.csv', 'id,raw_text\n1,"Some web text, with a comma."\n2,\n3,More text.\n'), quiet);
    expect(r.texts).toEqual(['Some web text, with a comma.', 'More text.']);
    expect(r.skipped.count).toBe(1);
    expect(() => loadOpenWebText(file('2k.csv', 'text\nabc\n'))).toThrow(/2k\.csv: missing column\(s\) "raw_text"/);
  });
});

// ---------------------------------------------------------------------------------------------- streams

const rowsOf = (n: number): (QaExample & { i: number })[] =>
  Array.from({ length: n }, (_, i) => ({ document: `doc ${i % 7}`, question: `q${i}?`, answer: `a${i}`, i }));

describe('StreamingQA stream', () => {
  it('samples k rows deterministically from the seed, without deduplication', () => {
    const rows = rowsOf(30);
    const a = formStreamingQAStream(rows, { downsampleTo: 10, seed: 42 });
    const b = formStreamingQAStream(rows, { downsampleTo: 10, seed: 42 });
    const c = formStreamingQAStream(rows, { downsampleTo: 10, seed: 43 });
    expect(a.records.map((r) => r.i)).toEqual(b.records.map((r) => r.i));
    expect(a.records.map((r) => r.i)).not.toEqual(c.records.map((r) => r.i));
    expect(new Set(a.records.map((r) => r.i)).size).toBe(10);
    expect(a.documents).toEqual(a.records.map((r) => r.document)); // one document per row, repeats kept
    a.questions.forEach((q, k) => {
      expect(q.documentIndex).toBe(k);
      expect(q.question).toBe(a.records[k]!.question);
    });
    const full = formStreamingQAStream(rows, { downsampleTo: -1, seed: 1 });
    expect([...full.records.map((r) => r.i)].sort((x, y) => x - y)).toEqual(rows.map((r) => r.i));
    expect(formStreamingQAStream(rows, { downsampleTo: 100 }).records).toHaveLength(30);
    expect(formStreamingQAStream(rows, { downsampleTo: 0 }).records).toHaveLength(0);
    expect(() => formStreamingQAStream(rows, { downsampleTo: -3 })).toThrow(/downsampleTo/);
  });
  it('accepts an explicit row order exported from Python', () => {
    const rows = rowsOf(5);
    const s = formStreamingQAStream(rows, { downsampleTo: 3, rowOrder: [4, 0, 2] });
    expect(s.records.map((r) => r.i)).toEqual([4, 0, 2]);
    expect(() => formStreamingQAStream(rows, { downsampleTo: 3, rowOrder: [4, 0] })).toThrow(/expected 3/);
    expect(() => formStreamingQAStream(rows, { downsampleTo: 2, rowOrder: [1, 1] })).toThrow(/repeats/);
    expect(() => formStreamingQAStream(rows, { downsampleTo: 1, rowOrder: [9] })).toThrow(/not a row index/);
  });
});

describe('article streams (SQuAD, ArchivalQA)', () => {
  // Three articles; article B has two paragraphs; paragraph "B1" has two questions.
  const squadRows = [
    { title: 'A', document: 'A0', question: 'qa0', answer: 'x' },
    { title: 'B', document: 'B0', question: 'qb0', answer: 'x' },
    { title: 'B', document: 'B1', question: 'qb1', answer: 'x' },
    { title: 'C', document: 'C0', question: 'qc0', answer: 'x' },
    { title: 'B', document: 'B1', question: 'qb1b', answer: 'x' },
  ];
  it('keeps articles contiguous and in order, first k distinct paragraphs, deduplicated training stream', () => {
    const s = formSquadStream(squadRows, { groupOrder: ['B', 'C', 'A'], downsampleTo: 3 });
    expect(s.records.map((r) => r.question)).toEqual(['qb0', 'qb1', 'qb1b', 'qc0']);
    expect(s.documents).toEqual(['B0', 'B1', 'C0']);
    expect(s.questions.map((q) => q.documentIndex)).toEqual([0, 1, 1, 2]);
    const all = formSquadStream(squadRows, { groupOrder: ['C', 'A', 'B'] });
    expect(all.documents).toEqual(['C0', 'A0', 'B0', 'B1']);
    expect(all.records).toHaveLength(5);
  });
  it('shuffles whole articles deterministically from the seed', () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ title: `T${Math.floor(i / 4)}`, document: `P${Math.floor(i / 2)}`, question: `q${i}`, answer: 'a' }));
    const a = formSquadStream(many, { seed: 7, downsampleTo: 6 });
    expect(formSquadStream(many, { seed: 7, downsampleTo: 6 }).documents).toEqual(a.documents);
    expect(a.documents).toHaveLength(6);
    expect(a.records).toHaveLength(12);
    // Each article's paragraphs appear contiguously and in their original order.
    const titles = a.records.map((r) => r.title);
    const firstPositions = uniqueInOrder(titles).map((t) => titles.indexOf(t));
    const lastPositions = uniqueInOrder(titles).map((t) => titles.lastIndexOf(t));
    firstPositions.forEach((f, k) => expect(lastPositions[k]! - f + 1).toBe(titles.filter((t) => t === titles[f]).length));
    const seeds = new Set([1, 2, 3, 4, 5].map((seed) => formSquadStream(many, { seed }).documents.join(',')));
    expect(seeds.size).toBeGreaterThan(1);
    expect(() => formSquadStream(squadRows, { groupOrder: ['A', 'B'] })).toThrow(/lacks group "C"/);
    expect(() => formSquadStream(squadRows, { groupOrder: ['A', 'B', 'C', 'D'] })).toThrow(/unknown group "D"/);
  });
  it('ArchivalQA sorts paragraphs by para_num inside each article before the shuffle', () => {
    const { records } = loadArchivalQA(file('stream_aqa.csv', ARCHIVAL_CSV), quiet);
    const s = formArchivalQAStream(records, { groupOrder: ['d2', 'd1'] });
    expect(s.documents).toEqual(['Para one of d2.', 'Para zero of d1.', 'Para two of d1.']);
    expect(s.records.map((r) => r.question)).toEqual(['Q d2p1?', 'Q d1p0?', 'Q d1p0 again?', 'Q d1p2?']);
    expect(formArchivalQAStream(records, { groupOrder: ['d2', 'd1'], downsampleTo: 2 }).records.map((r) => r.question)).toEqual([
      'Q d2p1?',
      'Q d1p0?',
      'Q d1p0 again?',
    ]);
  });
  it('uses a custom document key', () => {
    const s = formGroupedStream(squadRows, { groupKey: (r) => r.title, documentKey: (r) => r.title, groupOrder: ['A', 'B', 'C'] });
    expect(s.documents).toEqual(['A0', 'B0', 'C0']);
  });
});

// ------------------------------------------------------------------------------------ helpers and rng

describe('helpers', () => {
  it('truncates token lists and reports what was cut', () => {
    expect(truncateTokens([1, 2, 3, 4], 3)).toEqual({ tokens: [1, 2, 3], removed: 1 });
    expect(truncateTokens(Int32Array.from([1, 2]), 5)).toEqual({ tokens: [1, 2], removed: 0 });
    expect(truncateAll([[1, 2, 3], [1], [1, 2, 3, 4, 5]], 2)).toEqual({ sequences: [[1, 2], [1], [1, 2]], truncatedSequences: 2, removedTokens: 4 });
    expect(() => truncateTokens([1], -1)).toThrow(/maxLength/);
  });
  it('reproduces the Python string helpers', () => {
    expect(pyStrip('\x1c\u00a0 hi \t\x85')).toBe('hi');
    expect(pyStrip('\ufeffhi')).toBe('\ufeffhi'); // U+FEFF is not Python whitespace
    expect(pySplit(' a  b\u2003c ')).toEqual(['a', 'b', 'c']);
    expect(upperFirstIfLower('ßtraße')).toBe('SStraße');
    expect(upperFirstIfLower('1990')).toBe('1990');
    expect(upperFirstIfLower('')).toBe('');
    expect(shortest(['abc', 'de', 'fg'])).toBe('de');
  });
  it('locates JSON syntax errors', () => {
    expect(findJsonSyntaxError('{"a": [1, 2]}')).toBe(-1);
    expect(findJsonSyntaxError('{"a": 01}')).toBe(7);
    expect(findJsonSyntaxError('[1,]')).toBe(3);
    expect(findJsonSyntaxError('"\\x"')).toBe(2);
  });
  it('Prng is deterministic, unbiased in range, and samples without replacement', () => {
    const a = new Prng(123);
    const b = new Prng(123);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    expect(new Prng(124).nextU32()).not.toBe(xs[0]);
    const r = new Prng(9);
    const counts = new Array<number>(3).fill(0);
    for (let i = 0; i < 3000; i++) counts[r.nextInt(3)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(900);
    const s = r.sampleIndices(10, 10);
    expect([...s].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.nextFloat()).toBeLessThan(1);
    expect(() => r.nextInt(0)).toThrow();
  });
});
