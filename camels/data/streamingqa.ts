// StreamingQA subset CSVs (train.csv, val.csv, test.csv, qa_train.csv, qa_val.csv, all.csv; spec §5).
// Columns used: `text` (the document), `question`, `answers` (references separated by a backslash).
// One row is one (document, question) pair.

import { SkipCounter, type LoadOptions } from './errors.js';
import { readCsvTable } from './io.js';
import { pyStrip, shortest } from './pytext.js';
import type { LoadResult, QaExample } from './types.js';

export interface StreamingQARecord extends QaExample {
  /** 0-based data row in the file (header excluded), before any row was skipped. */
  row: number;
  /** File line the row starts on. */
  line: number;
  /** Every non-empty reference answer, in file order. */
  answers: string[];
  /** All cells of the row by column name (e.g. `qa_id`, `publication_date` when present). */
  cells: Record<string, string>;
}

export const STREAMINGQA_COLUMNS = ['text', 'question', 'answers'] as const;

/** The backslash that separates references in the `answers` column. */
export const STREAMINGQA_ANSWER_SEPARATOR = '\\';

/**
 * Load a StreamingQA CSV. Gold answer = the shortest reference (Python `min(answers, key=len)`, first of
 * equal length), not stripped and not capitalised, as in the reference; the question is stripped.
 *
 * Deviation: references that are empty or whitespace-only (a stray separator) are dropped before taking
 * the shortest; the reference would pick the empty string. A row with an empty `text`, an empty
 * question or no usable reference is an empty row, handled by `options.emptyRows`.
 */
export function loadStreamingQA(path: string, options: LoadOptions = {}): LoadResult<StreamingQARecord> {
  const table = readCsvTable(path, STREAMINGQA_COLUMNS);
  const skips = new SkipCounter(path, options, 'line');
  const records: StreamingQARecord[] = [];
  table.rows.forEach(({ line, cells }, row) => {
    const text = cells['text']!;
    const question = pyStrip(cells['question']!);
    const answers = cells['answers']!.split(STREAMINGQA_ANSWER_SEPARATOR).filter((a) => pyStrip(a).length > 0);
    if (pyStrip(text).length === 0) return skips.skip(line, 'empty "text"');
    if (question.length === 0) return skips.skip(line, 'empty "question"');
    if (answers.length === 0) return skips.skip(line, 'no non-empty reference in "answers"');
    records.push({ document: text, question, answer: shortest(answers)!, answers, row, line, cells });
  });
  return { file: path, records, skipped: skips.finish() };
}
