// OpenWebText CSVs for the locality (KL) term of meta-training: `8k.csv` (train) and `2k.csv`
// (validation), one document per row in the column `raw_text` (spec §5, `WebTextDataset`).

import { SkipCounter, type LoadOptions } from './errors.js';
import { readCsvTable } from './io.js';
import { pyStrip } from './pytext.js';

export interface OpenWebTextResult {
  file: string;
  /** The documents in file order. */
  texts: string[];
  skipped: { count: number; where: number[] };
}

/** Load an OpenWebText CSV; rows with an empty `raw_text` follow `options.emptyRows`. */
export function loadOpenWebText(path: string, options: LoadOptions = {}): OpenWebTextResult {
  const table = readCsvTable(path, ['raw_text']);
  const skips = new SkipCounter(path, options, 'line');
  const texts: string[] = [];
  for (const { line, cells } of table.rows) {
    const text = cells['raw_text']!;
    if (pyStrip(text).length === 0) skips.skip(line, 'empty "raw_text"');
    else texts.push(text);
  }
  return { file: path, texts, skipped: skips.finish() };
}
