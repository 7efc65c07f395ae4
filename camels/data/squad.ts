// SQuAD v1.1 (spec §5): the official nested JSON (`train-v1.1.json`, `dev-v1.1.json`) or the flat rows
// of the Hugging Face `squad` dataset (a JSON array, `{"data": [...]}`, or JSON Lines as written by
// `Dataset.to_json`). Both give rows in the same order (articles → paragraphs → questions), which is the
// order the reference's index splits refer to.

import { DataError, SkipCounter, type LoadOptions } from './errors.js';
import { parseJsonText, readTextFile } from './io.js';
import { pyStrip, shortest, upperFirstIfLower } from './pytext.js';
import type { LoadResult, QaExample } from './types.js';

export interface SquadRecord extends QaExample {
  /** 0-based row in the file's flattened order (the HF row index), before any row was skipped. */
  index: number;
  id: string;
  title: string;
  /** = document. */
  context: string;
  /** All reference answer texts, as in the file. */
  answers: string[];
  answerStarts: number[];
}

/** A half-open row range [start, end) of a split; end = -1 means "to the last row". */
export type RowRange = readonly [start: number, end: number];

/**
 * The reference's index splits (conf/dataset/squad.yaml): four ranges of the HF `train` split
 * (87,599 rows) and the whole `validation` split as test. Every record keeps its question and gold
 * answer, so a QA-val set built from `qaVal` can be scored with generation (spec §9 item 5: the
 * reference built it without generation fields, so its F1 was NaN and `best_max_f1.pt` never written).
 */
export const SQUAD_SPLITS = {
  qaTune: { split: 'train', range: [0, 40006] },
  qaVal: { split: 'train', range: [40006, 42118] },
  metaTrain: { split: 'train', range: [42118, 82011] },
  metaVal: { split: 'train', range: [82011, 87599] },
  test: { split: 'validation', range: [0, -1] },
} as const satisfies Record<string, { split: 'train' | 'validation'; range: RowRange }>;

export type SquadSplitName = keyof typeof SQUAD_SPLITS;

export interface SquadLoadOptions extends LoadOptions {
  /** Keep rows [start, end) of the file (end -1 = all), as `SquadDataset(start_idx, end_idx)` does. */
  range?: RowRange;
}

/** A raw row before validation. */
interface RawRow {
  id: unknown;
  title: unknown;
  context: unknown;
  question: unknown;
  answerTexts: unknown;
  answerStarts: unknown;
  where: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function flattenNested(data: unknown[], file: string): RawRow[] {
  const rows: RawRow[] = [];
  data.forEach((article, a) => {
    if (!isObject(article) || !Array.isArray(article['paragraphs'])) {
      throw new DataError(`${file}: data[${a}] is not an article with a "paragraphs" list`, file);
    }
    article['paragraphs'].forEach((para: unknown, p: number) => {
      if (!isObject(para) || !Array.isArray(para['qas'])) {
        throw new DataError(`${file}: data[${a}].paragraphs[${p}] has no "qas" list`, file);
      }
      para['qas'].forEach((qa: unknown, q: number) => {
        const where = `data[${a}].paragraphs[${p}].qas[${q}]`;
        if (!isObject(qa)) throw new DataError(`${file}: ${where} is not an object`, file);
        const answers = qa['answers'];
        if (!Array.isArray(answers)) throw new DataError(`${file}: ${where}: missing field "answers"`, file);
        rows.push({
          id: qa['id'],
          title: article['title'],
          context: para['context'],
          question: qa['question'],
          answerTexts: answers.map((x) => (isObject(x) ? x['text'] : undefined)),
          answerStarts: answers.map((x) => (isObject(x) ? x['answer_start'] : undefined)),
          where,
        });
      });
    });
  });
  return rows;
}

function flatRow(value: unknown, where: string, file: string): RawRow {
  if (!isObject(value)) throw new DataError(`${file}: ${where} is not an object`, file);
  const answers = value['answers'];
  if (!isObject(answers)) throw new DataError(`${file}: ${where}: missing field "answers" ({text, answer_start})`, file);
  return {
    id: value['id'],
    title: value['title'],
    context: value['context'],
    question: value['question'],
    answerTexts: answers['text'],
    answerStarts: answers['answer_start'],
    where,
  };
}

function parseRows(text: string, file: string): RawRow[] {
  let whole: unknown;
  let wholeError: unknown;
  try {
    whole = parseJsonText(text, file);
  } catch (err) {
    wholeError = err;
  }
  if (wholeError !== undefined) {
    // HF `Dataset.to_json` writes JSON Lines even under a .json name: try that before giving up.
    const firstLine = text.split('\n').find((l) => l.trim().length > 0) ?? '';
    let firstIsObject = false;
    try {
      firstIsObject = isObject(JSON.parse(firstLine));
    } catch {
      firstIsObject = false;
    }
    if (!firstIsObject) throw wholeError;
    const rows: RawRow[] = [];
    text.split('\n').forEach((line, k) => {
      const raw = line.replace(/\r$/, '');
      if (raw.trim().length === 0) return;
      rows.push(flatRow(parseJsonText(raw, file, k), `line ${k + 1}`, file));
    });
    return rows;
  }
  if (isObject(whole) && 'context' in whole) return [flatRow(whole, 'line 1', file)]; // one-line JSON Lines
  const list = Array.isArray(whole) ? whole : isObject(whole) && Array.isArray(whole['data']) ? whole['data'] : null;
  if (list === null) {
    throw new DataError(`${file}: not a SQuAD file: expected {"data": [...]}, a JSON array of rows, or JSON Lines`, file);
  }
  if (list.length === 0) throw new DataError(`${file}: SQuAD file has no rows`, file);
  const first = list[0];
  if (isObject(first) && 'paragraphs' in first) return flattenNested(list, file);
  return list.map((v, i) => flatRow(v, `row ${i}`, file));
}

function requireString(v: unknown, field: string, where: string, file: string): string {
  if (typeof v !== 'string') throw new DataError(`${file}: ${where}: missing or non-string field "${field}"`, file);
  return v;
}

/**
 * Load SQuAD v1.1 rows. Question = `question.strip()`; gold answer = the shortest reference, stripped,
 * first letter upper-cased if it was lower-case (the reference's `SquadDataset.get_qa`). Rows with an
 * empty context or question, or without a non-empty answer (e.g. SQuAD 2.0 unanswerables), are empty rows
 * (`options.emptyRows`). `options.range` keeps rows [start, end) by original row index; a range past the
 * end of the file is an error, as the reference's `select` would raise.
 */
export function loadSquad(path: string, options: SquadLoadOptions = {}): LoadResult<SquadRecord> {
  const text = readTextFile(path, 'SQuAD file').replace(/^\uFEFF/, '');
  const raw = parseRows(text, path);
  const [start, endRaw] = options.range ?? [0, -1];
  const end = endRaw === -1 ? raw.length : endRaw;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > raw.length) {
    throw new DataError(`${path}: row range [${start}, ${endRaw}) is outside the file's ${raw.length} rows`, path);
  }
  const skips = new SkipCounter(path, options, 'record');
  const records: SquadRecord[] = [];
  for (let index = start; index < end; index++) {
    const r = raw[index]!;
    const context = requireString(r.context, 'context', r.where, path);
    const question = pyStrip(requireString(r.question, 'question', r.where, path));
    const title = r.title === undefined || r.title === null ? '' : requireString(r.title, 'title', r.where, path);
    const id = r.id === undefined || r.id === null ? String(index) : String(r.id);
    if (!Array.isArray(r.answerTexts)) throw new DataError(`${path}: ${r.where}: "answers.text" is not a list`, path);
    const answers = r.answerTexts.map((a, k) => requireString(a, `answers.text[${k}]`, r.where, path));
    const answerStarts = Array.isArray(r.answerStarts) ? r.answerStarts.map((s) => Number(s)) : [];
    const usable = answers.filter((a) => pyStrip(a).length > 0);
    if (pyStrip(context).length === 0) {
      skips.skip(index, 'empty "context"');
      continue;
    }
    if (question.length === 0) {
      skips.skip(index, 'empty "question"');
      continue;
    }
    if (usable.length === 0) {
      skips.skip(index, 'no non-empty answer');
      continue;
    }
    const answer = upperFirstIfLower(pyStrip(shortest(usable)!));
    records.push({ document: context, question, answer, index, id, title, context, answers, answerStarts });
  }
  return { file: path, records, skipped: skips.finish() };
}

/** Load one of the reference's named splits from the HF `train` or `validation` file. */
export function loadSquadSplit(path: string, split: SquadSplitName, options: LoadOptions = {}): LoadResult<SquadRecord> {
  return loadSquad(path, { ...options, range: SQUAD_SPLITS[split].range });
}
