// Record types shared by the dataset loaders and the stream builder.

import type { SkipReport } from './errors.js';

/** One (document, question, answer) triple: the unit every CaMeLS dataset reduces to (spec §5). */
export interface QaExample {
  /** The text the base model is adapted on. */
  document: string;
  /** The question, `.strip()`-ed as in the reference. */
  question: string;
  /** The single gold answer used for training and scoring (the shortest reference, §3.5). */
  answer: string;
}

/** What a loader returns: the records in file order and the rows it skipped. */
export interface LoadResult<R> {
  file: string;
  records: R[];
  skipped: SkipReport;
}
