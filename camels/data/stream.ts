// Forming the evaluation stream (spec §3.1) and the matching question list.
//
// StreamingQA: k random ROWS (or a full shuffle), no deduplication: a document in several rows is
// trained on several times (§9 item 21). SQuAD / ArchivalQA: shuffle the order of whole articles
// (titles / doc_ids) keeping rows in their original order inside an article, keep every row whose
// document is among the first k distinct documents, and train on the distinct documents in order.
//
// Randomness comes from our seeded Prng, so with the same seed the streams are deterministic but are
// NOT the paper's streams: the reference draws them from numpy's global MT19937 (pandas `df.sample`,
// `np.random.shuffle`), which this code does not emulate (§9 item 22). To reproduce a paper stream,
// export the order once from Python and pass it as `rowOrder` (StreamingQA: the sampled df.index
// values, i.e. 0-based data rows) or `groupOrder` (SQuAD titles / ArchivalQA doc_ids after the shuffle).

import { Prng } from './rng.js';
import type { QaExample } from './types.js';

export interface StreamQuestion<R> {
  question: string;
  answer: string;
  /** Index into `documents` of the document this question is about. */
  documentIndex: number;
  record: R;
}

export interface DocumentStream<R> {
  /** The documents to adapt on, in stream order (one optimizer step each at batch size 1). */
  documents: string[];
  /** Every question attached to the stream's documents, in evaluation order. */
  questions: StreamQuestion<R>[];
  /** The kept records in stream order (one per question). */
  records: R[];
}

/** Default stream seed (conf/config.yaml `seed`). */
export const DEFAULT_STREAM_SEED = 42;

export interface StreamingQAStreamOptions {
  /** k rows; -1 (default) or k >= rows = all rows shuffled (`downsample_to`). */
  downsampleTo?: number;
  seed?: number;
  /** Explicit row order (indices into `records`) replacing the random draw; length k or all rows. */
  rowOrder?: readonly number[];
}

function checkDownsample(k: number): void {
  if (!Number.isInteger(k) || (k < 0 && k !== -1)) {
    throw new Error(`downsampleTo must be -1 or a non-negative integer, got ${k}`);
  }
}

/** The StreamingQA stream: sampled rows in sampled order; each row is one document and one question. */
export function formStreamingQAStream<R extends QaExample>(
  records: readonly R[],
  options: StreamingQAStreamOptions = {},
): DocumentStream<R> {
  const k = options.downsampleTo ?? -1;
  checkDownsample(k);
  const n = records.length;
  const take = k !== -1 && k < n ? k : n;
  let order: number[];
  if (options.rowOrder !== undefined) {
    order = [...options.rowOrder];
    if (order.length !== take) {
      throw new Error(`rowOrder has ${order.length} entries, expected ${take} (downsampleTo ${k}, ${n} rows)`);
    }
    const seen = new Set<number>();
    for (const i of order) {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`rowOrder entry ${i} is not a row index in [0, ${n})`);
      if (seen.has(i)) throw new Error(`rowOrder repeats row ${i}`);
      seen.add(i);
    }
  } else {
    const rng = new Prng(options.seed ?? DEFAULT_STREAM_SEED);
    // `df.sample(k)` when k < rows, else `df.sample(frac=1)`: both a uniformly random ordered draw.
    order = take < n ? rng.sampleIndices(n, take) : rng.permutation(n);
  }
  const kept = order.map((i) => records[i]!);
  return {
    documents: kept.map((r) => r.document),
    questions: kept.map((r, i) => ({ question: r.question, answer: r.answer, documentIndex: i, record: r })),
    records: kept,
  };
}

export interface GroupedStreamOptions<R> {
  /** Article key: SQuAD `title`, ArchivalQA `doc_id`. */
  groupKey: (r: R) => string;
  /** Key for "distinct document" (default: the document text itself). */
  documentKey?: (r: R) => string;
  /** Keep the rows of the first k distinct documents; -1 (default), 0 or k >= distinct = all. */
  downsampleTo?: number;
  seed?: number;
  /** Explicit article order replacing the shuffle: every group key present, exactly once. */
  groupOrder?: readonly string[];
}

/** Article-level shuffle + first-k-distinct-documents selection (`shuffle_groups`, `return_k_unique`). */
export function formGroupedStream<R extends QaExample>(
  records: readonly R[],
  options: GroupedStreamOptions<R>,
): DocumentStream<R> {
  const k = options.downsampleTo ?? -1;
  checkDownsample(k);
  const docKey = options.documentKey ?? ((r: R) => r.document);
  // Groups in order of first appearance (pandas `unique`).
  const groups: string[] = [];
  const rowsOfGroup = new Map<string, R[]>();
  for (const r of records) {
    const g = options.groupKey(r);
    let list = rowsOfGroup.get(g);
    if (list === undefined) {
      list = [];
      rowsOfGroup.set(g, list);
      groups.push(g);
    }
    list.push(r);
  }
  let order: string[];
  if (options.groupOrder !== undefined) {
    order = [...options.groupOrder];
    const seen = new Set<string>();
    for (const g of order) {
      if (!rowsOfGroup.has(g)) throw new Error(`groupOrder names an unknown group ${JSON.stringify(g)}`);
      if (seen.has(g)) throw new Error(`groupOrder repeats group ${JSON.stringify(g)}`);
      seen.add(g);
    }
    const missing = groups.find((g) => !seen.has(g));
    if (missing !== undefined) throw new Error(`groupOrder lacks group ${JSON.stringify(missing)}`);
  } else {
    order = new Prng(options.seed ?? DEFAULT_STREAM_SEED).shuffleInPlace([...groups]);
  }
  // A stable sort by shuffled group position = concatenating each group's rows in original order.
  let rows = order.flatMap((g) => rowsOfGroup.get(g)!);
  const distinct = [...new Set(rows.map(docKey))];
  if (k > 0 && k < distinct.length) {
    const keep = new Set(distinct.slice(0, k));
    rows = rows.filter((r) => keep.has(docKey(r)));
  }
  // Training stream: one entry per distinct document, first occurrence, order kept
  // (`get_deduplicated_dataset`).
  const documents: string[] = [];
  const indexOfDoc = new Map<string, number>();
  for (const r of rows) {
    const key = docKey(r);
    if (!indexOfDoc.has(key)) {
      indexOfDoc.set(key, documents.length);
      documents.push(r.document);
    }
  }
  return {
    documents,
    questions: rows.map((r) => ({
      question: r.question,
      answer: r.answer,
      documentIndex: indexOfDoc.get(docKey(r))!,
      record: r,
    })),
    records: rows,
  };
}

export interface ArticleStreamOptions {
  downsampleTo?: number;
  seed?: number;
  groupOrder?: readonly string[];
}

/** SQuAD stream: articles (titles) shuffled, first k distinct contexts. */
export function formSquadStream<R extends QaExample & { title: string }>(
  records: readonly R[],
  options: ArticleStreamOptions = {},
): DocumentStream<R> {
  return formGroupedStream(records, { ...options, groupKey: (r) => r.title, documentKey: (r) => r.document });
}

/**
 * ArchivalQA stream: rows stably sorted by `para_num` first (so paragraphs are in increasing order inside
 * an article), then articles (doc_ids) shuffled, first k distinct documents (`ans_paragraph`, or
 * `ans_text` when the records were loaded with `fullPassage`).
 */
export function formArchivalQAStream<R extends QaExample & { docId: string; paraNum: number }>(
  records: readonly R[],
  options: ArticleStreamOptions = {},
): DocumentStream<R> {
  const sorted = records
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.paraNum - b.r.paraNum || a.i - b.i)
    .map((x) => x.r);
  return formGroupedStream(sorted, { ...options, groupKey: (r) => r.docId, documentKey: (r) => r.document });
}

/** Distinct strings in first-occurrence order (pandas `unique`), e.g. a TF-IDF fit corpus. */
export function uniqueInOrder(items: Iterable<string>): string[] {
  return [...new Set(items)];
}
