// ArchivalQA CSVs as built by the reference's ArchivalQA_processing notebook (spec §5): qa_lt.csv,
// qa_lt_val.csv, train.csv, val.csv, test.csv (and all.csv for TF-IDF). Each row is a question about
// one paragraph (`ans_paragraph`, number `para_num`) of one NYT article (`doc_id`); `ans_text` is the
// whole article, used when `fullPassage` is set.

import { DataError, SkipCounter, type LoadOptions } from './errors.js';
import { readCsvTable } from './io.js';
import { pyStrip, upperFirstIfLower } from './pytext.js';
import type { LoadResult, QaExample } from './types.js';

export interface ArchivalQARecord extends QaExample {
  row: number;
  line: number;
  docId: string;
  paraNum: number;
  /** `ans_paragraph`. */
  paragraph: string;
  /** `ans_text` (the whole article), when the file has that column. */
  fullText: string | undefined;
  cells: Record<string, string>;
}

export const ARCHIVALQA_COLUMNS = ['ans_paragraph', 'question', 'answer', 'doc_id', 'para_num'] as const;

export interface ArchivalQALoadOptions extends LoadOptions {
  /** Document = `ans_text` (whole article) instead of `ans_paragraph` (reference `full_passage`, default false). */
  fullPassage?: boolean;
}

/**
 * Load an ArchivalQA CSV. Question stripped; answer first letter upper-cased if lower-case (not stripped),
 * as the reference's `ArchivalQADataset.get_qa`. `para_num` must be an integer (else a DataError naming
 * the file, line and column). Rows with an empty document, question, answer, doc_id or para_num are
 * empty rows (`options.emptyRows`).
 */
export function loadArchivalQA(path: string, options: ArchivalQALoadOptions = {}): LoadResult<ArchivalQARecord> {
  const fullPassage = options.fullPassage ?? false;
  const table = readCsvTable(path, fullPassage ? [...ARCHIVALQA_COLUMNS, 'ans_text'] : ARCHIVALQA_COLUMNS);
  const hasFullText = table.header.includes('ans_text');
  const skips = new SkipCounter(path, options, 'line');
  const records: ArchivalQARecord[] = [];
  table.rows.forEach(({ line, cells }, row) => {
    const paragraph = cells['ans_paragraph']!;
    const fullText = hasFullText ? cells['ans_text']! : undefined;
    const document = fullPassage ? fullText! : paragraph;
    const question = pyStrip(cells['question']!);
    const rawAnswer = cells['answer']!;
    const docId = pyStrip(cells['doc_id']!);
    const paraText = pyStrip(cells['para_num']!);
    if (pyStrip(document).length === 0) return skips.skip(line, `empty "${fullPassage ? 'ans_text' : 'ans_paragraph'}"`);
    if (question.length === 0) return skips.skip(line, 'empty "question"');
    if (pyStrip(rawAnswer).length === 0) return skips.skip(line, 'empty "answer"');
    if (docId.length === 0) return skips.skip(line, 'empty "doc_id"');
    if (paraText.length === 0) return skips.skip(line, 'empty "para_num"');
    const paraNum = Number(paraText);
    if (!Number.isInteger(paraNum)) {
      throw new DataError(`${path}: line ${line}: column "para_num" is not an integer: ${JSON.stringify(paraText)}`, path);
    }
    records.push({
      document,
      question,
      answer: upperFirstIfLower(rawAnswer),
      row,
      line,
      docId,
      paraNum,
      paragraph,
      fullText,
      cells,
    });
  });
  return { file: path, records, skipped: skips.finish() };
}
