// Dataset selection from the config (conf/dataset/*.yaml): which files give the meta-training rows,
// the evaluation stream and the QA-tuning splits for StreamingQA, SQuAD and ArchivalQA.

import path from 'node:path';
import type { CommonConfig } from '../config.js';
import { loadArchivalQA } from '../data/archivalqa.js';
import { loadOpenWebText } from '../data/openwebtext.js';
import { loadSquad, SQUAD_SPLITS, type SquadSplitName } from '../data/squad.js';
import { formArchivalQAStream, formSquadStream, formStreamingQAStream } from '../data/stream.js';
import { loadStreamingQA } from '../data/streamingqa.js';
import type { QaExample } from '../data/types.js';
import type { EvalStream } from './online-eval.js';

export type DatasetName = 'streamingqa' | 'squad' | 'archivalqa';
type Split = 'train' | 'val' | 'test' | 'lt_train' | 'lt_val';

function datasetName(cfg: CommonConfig): DatasetName {
  if (cfg.dataset === 'synthetic') throw new Error("config: dataset=synthetic is the embedded default's data; run `camels-gpu meta-train` with no arguments for it, or use streamingqa, squad or archivalqa files");
  return cfg.dataset;
}

/** The CSV of a split: an explicit <split>_path, else <data_dir>/<default file>. */
function splitPath(cfg: CommonConfig, split: Split): string {
  const explicit = cfg[`${split}_path`];
  if (explicit) return explicit;
  const dir = cfg.data_dir;
  const files: Record<DatasetName, Record<Split, string>> = {
    streamingqa: { train: 'train.csv', val: 'val.csv', test: 'test.csv', lt_train: 'qa_train.csv', lt_val: 'qa_val.csv' },
    archivalqa: { train: 'train.csv', val: 'val.csv', test: 'test.csv', lt_train: 'qa_lt.csv', lt_val: 'qa_lt_val.csv' },
    squad: { train: '', val: '', test: '', lt_train: '', lt_val: '' },
  };
  if (!dir) throw new Error(`config: set ${split}_path or data_dir for dataset ${String(cfg.dataset)}`);
  return path.join(dir, files[datasetName(cfg)][split]);
}

const squadSplit: Record<Split, SquadSplitName> = { train: 'metaTrain', val: 'metaVal', test: 'test', lt_train: 'qaTune', lt_val: 'qaVal' };

function squadFile(cfg: CommonConfig, split: Split): string {
  const p = cfg.squad_path;
  if (!p) throw new Error('config: dataset=squad needs squad_path (the HF squad rows as JSON/JSONL, train and validation in one folder: <squad_path>/train.jsonl and validation.jsonl, or the official v1.1 JSON files)');
  const file = SQUAD_SPLITS[squadSplit[split]].split === 'train' ? 'train' : 'validation';
  return p.endsWith('.json') || p.endsWith('.jsonl') ? p : path.join(p, `${file}.jsonl`);
}

/** Rows of a split (one per question, with its document). */
export function loadRows(cfg: CommonConfig, split: Split): QaExample[] {
  const d = datasetName(cfg);
  const file = d === 'squad' ? squadFile(cfg, split) : splitPath(cfg, split);
  const rows =
    d === 'streamingqa'
      ? loadStreamingQA(file).records
      : d === 'archivalqa'
        ? loadArchivalQA(file, { fullPassage: cfg.full_passage }).records
        : loadSquad(file, { range: SQUAD_SPLITS[squadSplit[split]].range }).records;
  if (rows.length === 0) throw new Error(`${split} split ${file}: no usable rows (every row was skipped: empty text, question or answers)`);
  return rows;
}

/** The evaluation stream of the test split (spec 3.1). */
export function loadEvalStream(cfg: CommonConfig & { downsample_to: number }): EvalStream {
  const d = datasetName(cfg);
  const k = cfg.downsample_to;
  const seed = cfg.seed;
  const s =
    d === 'streamingqa'
      ? formStreamingQAStream(loadStreamingQA(splitPath(cfg, 'test')).records, { downsampleTo: k, seed })
      : d === 'archivalqa'
        ? formArchivalQAStream(loadArchivalQA(splitPath(cfg, 'test'), { fullPassage: cfg.full_passage }).records, { downsampleTo: k, seed })
        : formSquadStream(loadSquad(squadFile(cfg, 'test'), { range: SQUAD_SPLITS.test.range }).records, { downsampleTo: k, seed });
  const file = d === 'squad' ? squadFile(cfg, 'test') : splitPath(cfg, 'test');
  if (s.documents.length === 0 || s.questions.length === 0) throw new Error(`test split ${file}: the evaluation stream has ${s.documents.length} documents and ${s.questions.length} questions; nothing to evaluate (rows with empty answers are skipped)`);
  return { documents: s.documents, questions: s.questions.map((q) => ({ document: s.documents[q.documentIndex]!, question: q.question, answer: q.answer })) };
}

/** OpenWebText passages for the locality term. */
export function loadLocality(cfg: { web_text_csv: string | null; web_text_val_csv: string | null }, key: 'web_text_csv' | 'web_text_val_csv'): string[] {
  const p = cfg[key];
  if (!p) return [];
  return loadOpenWebText(p).texts;
}
