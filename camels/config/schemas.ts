// The schema of each task: the reference's Hydra defaults (spec section 6) as typed keys with their
// ranges and docs, plus the reference keys that have no meaning here (accepted with a notice, or
// refused when the value asks for something not implemented).

import { flag, int, oneOf, optText, prob, rate, rateList, real, text, textList, type ConfigOf, type Schema } from './keys.js';

/** Dataset formats; 'synthetic' is the embedded default's own (meta-train with no arguments). */
export const DATASETS = ['streamingqa', 'squad', 'archivalqa', 'synthetic'] as const;
export const STOP_METRICS = ['nll', 'max_f1', 'avg_f1', 'exact_match'] as const;

/** Keys every configured task shares (conf/config.yaml, conf/dataset/*.yaml, dataset constants). */
export const COMMON_SCHEMA = {
  seed: int(42, 'random seed: data order, stream sampling, dropout, initialisation', { min: 0 }),
  dataset: oneOf('streamingqa', DATASETS, 'dataset format of the files below (meta-train with no arguments runs the built-in synthetic one)'),
  base_model: optText('base LM: a Hugging Face model directory or hub id (the QA-tuned one for meta-train and eval)', { type: 'model' }),
  base_model_state_dict: optText('QA-tuned weights overriding base_model: a model directory, .safetensors or a PyTorch .pt state dict', { type: 'model' }),
  tokenizer_name: optText('tokenizer directory (default: the base model directory)'),
  device: oneOf('auto', ['auto', 'cpu', 'webgpu'] as const, 'backend (auto: WebGPU when an adapter exists, else cpu)', { resumeSafe: true }),
  outputs: text('outputs', 'output root; runs go to <outputs>/<task>/<dataset>/<time>/', { resumeSafe: true }),
  resume: optText('a run directory to continue (same as --resume)', { resumeSafe: true }),
  notes: text('', 'free text stored with the run', { resumeSafe: true }),
  data_dir: optText('folder holding the dataset CSVs under their reference names'),
  train_path: optText('meta-training rows (default: <data_dir>/train.csv)'),
  val_path: optText('validation rows (default: <data_dir>/val.csv)'),
  test_path: optText('test rows: the evaluation stream (default: <data_dir>/test.csv)'),
  lt_train_path: optText('QA-tuning rows (default: <data_dir>/qa_train.csv)'),
  lt_val_path: optText('QA-tuning validation rows (default: <data_dir>/qa_val.csv)'),
  full_passage: flag(false, 'ArchivalQA: use the full passage instead of the paragraph'),
  squad_path: optText('SQuAD: the HF rows (JSON/JSONL) or the official v1.1 JSON files'),
  max_text_len: int(1024, 'token budget of a document (longer ones are right-truncated)', { min: 2 }),
  max_question_len: int(128, 'token budget of a question + answer sequence', { min: 2 }),
  max_answer_len: int(24, 'token budget of an answer (EOS included)', { min: 1 }),
} satisfies Schema;

/** conf/task/train.yaml and conf/weight_model/CaMeLS.yaml */
export const TRAIN_SCHEMA = {
  ...COMMON_SCHEMA,
  task: oneOf('train', ['train'] as const, 'the reference task name (meta-train is task=train)'),
  weight_model: oneOf('CaMeLS', ['CaMeLS'] as const, 'the weight model meta-trained (only CaMeLS is learned)'),
  pretrained_model: optText("the weight model's GPT-2 body: model directory or hub id (distilgpt2 in the reference; default: base_model)", { type: 'model' }),
  weight_model_hidden: int(128, 'hidden width of the weight model MLP head', { min: 1 }),
  normalize: flag(false, "the weight model's normalize option: each document's weights rescaled to mean 1 over its real tokens (recorded with the weight model)"),
  val: flag(true, 'validate every val_steps outer steps and keep the best checkpoint'),
  n_epochs: int(50, 'passes over the meta-training rows', { min: 1, resumeSafe: true }),
  val_steps: int(100, 'outer (Adam) steps between validations', { min: 1 }),
  outer_lr: rate(1e-5, 'Adam learning rate of the weight model'),
  update_batch_size: int(6, 'documents per meta batch = sequential inner SGD steps', { min: 1 }),
  sequential_update: flag(true, 'one inner SGD step per document (false: one step on the whole batch)'),
  grad_acc_steps: int(4, 'meta batches per outer Adam step', { min: 1 }),
  reset_base_freq: int(24, 'documents after which the adapted base is reset to θ₀ (a multiple of update_batch_size)', { min: 1 }),
  loc_batch_size: int(1, 'locality passages per meta batch (KL term)', { min: 1 }),
  web_text_loc: flag(true, 'locality KL on web text passages'),
  web_text_csv: optText('OpenWebText passages for the locality KL (8k.csv)'),
  web_text_val_csv: optText('OpenWebText passages for validation (2k.csv)'),
  c_kl: real(0.1, 'weight of the locality KL in the outer loss', { min: 0 }),
  c_norm: real(0, 'weight of the token-weight norm regulariser (0 = off, as in train.yaml)', { min: 0 }),
  norm: real(2, 'p of that norm: (mean over real tokens of |w − o|^p)^(1/p)', { positive: true }),
  norm_from_one: flag(true, 'the norm of w − 1 (true) or of w (false)'),
  grad_clip_thresh: rate(1e9, 'global gradient-norm clip of the outer step'),
  inner_lr: rate(5e-4, 'inner SGD learning rate'),
  num_inner_steps: int(1, 'SGD steps per document in the inner loop', { min: 1 }),
  kl_pre_dropout: flag(false, 'θ₀ locality logits with dropout (the reference; deliberate deviation: false)'),
  load_checkpoint_path: optText('start from this weight model (.safetensors with its .config.json, or a .pt checkpoint)'),
  max_outer_steps: int(-1, 'stop after this many outer steps (-1 = all epochs)', { min: 1, sentinels: [-1], resumeSafe: true }),
  val_batches: int(-1, 'validation meta batches (-1 = the whole split)', { min: 1, sentinels: [-1] }),
  checkpoint_every: int(1, 'outer steps between checkpoints (written where no adapted base is carried)', { min: 1, resumeSafe: true }),
} satisfies Schema;

/** conf/task/eval.yaml */
export const EVAL_SCHEMA = {
  ...COMMON_SCHEMA,
  task: oneOf('eval', ['eval'] as const, 'the reference task name'),
  weight_model: oneOf('uniform', ['uniform', 'ssm', 'tfidf', 'CaMeLS'] as const, 'token weighting during adaptation'),
  weight_model_path: optText('CaMeLS: the weight model (.safetensors with its .config.json, or a .pt checkpoint)'),
  normalize: flag(false, "CaMeLS: the weight model's normalize option for a checkpoint that does not record it (run.py's .pt files); a recorded choice is used as recorded"),
  pretrained_model: optText("CaMeLS: the weight model body's config (directory or hub id) when weight_model_path has no .config.json beside it (run.py's .pt files; default distilgpt2)", { type: 'model' }),
  n_epochs: int(1, 'passes over the stream', { min: 1 }),
  batch_size: int(1, 'documents per adaptation step', { min: 1 }),
  generation_batch_size: int(-1, 'questions decoded together, left-padded (-1 = automatic: 4 with beams, 16 greedy)', { min: 1, sentinels: [-1] }),
  grad_acc_steps: int(1, 'adaptation steps whose gradients are summed before one update (also light-tune)', { min: 1 }),
  lr: rateList([1e-4], 'online-adaptation learning rate, or a comma-separated sweep'),
  qa_lt_final: flag(false, 'QA light-tuning after adaptation'),
  lt_lr: rate(2.5e-5, 'light-tune learning rate'),
  lt_steps: int(1000000, 'light-tune optimizer steps at most', { min: 1 }),
  lt_val_steps: int(16, 'light-tune steps between validations', { min: 1 }),
  lt_batch_size: int(16, 'light-tune batch size', { min: 1 }),
  lt_stopping_metric: oneOf('max_f1', STOP_METRICS, 'light-tune early-stopping metric'),
  lt_patience: int(3, 'light-tune patience (validations)', { min: 1 }),
  grad_clip_thresh: rate(750, 'global gradient-norm clip (adaptation and light-tune)'),
  downsample_to: int(-1, 'documents in the stream (rows for StreamingQA; -1 = all)', { min: 1, sentinels: [-1] }),
  eval_init: flag(false, 'also score the questions before adaptation'),
  optimizer: oneOf('adam', ['adam', 'sgd'] as const, 'adaptation optimizer'),
  num_beams: int(12, 'beams of the diverse beam search', { min: 1 }),
  num_beam_groups: int(4, 'beam groups (must divide num_beams)', { min: 1 }),
  diversity_penalty: real(10, 'diversity penalty between groups', { min: 0 }),
  max_new_tokens: int(16, 'answer tokens generated at most', { min: 1 }),
  min_threshold: prob(0, 'TF-IDF: quantile below which weights are zeroed (the reference ignored it, spec 9.3)'),
  tfidf_corpus: optText('TF-IDF: the corpus CSV (default: the whole test split)'),
} satisfies Schema;

/** conf/qa_pretrain_config.yaml */
export const QA_SCHEMA = {
  ...COMMON_SCHEMA,
  task: oneOf('qa', ['qa'] as const, 'the task name'),
  val_steps: int(512, 'optimizer steps between validations', { min: 1 }),
  lt_batch_size: int(32, 'QA pairs per micro-batch', { min: 1 }),
  grad_acc_steps: int(2, 'micro-batches per optimizer step', { min: 1 }),
  train_steps: int(10000000, 'optimizer steps at most (it also seeds the data order, so it cannot change on resume)', { min: 1 }),
  lr: rate(2.5e-5, 'Adam learning rate'),
  grad_clip_thresh: rate(100, 'global gradient-norm clip'),
  qa_eos: flag(true, 'train the answer followed by EOS'),
  stop_k: int(10, 'patience: validations without improvement before stopping', { min: 1 }),
  stopping_metric: oneOf('nll', STOP_METRICS, 'early-stopping metric (the best checkpoint of each is saved)'),
  optimizer: oneOf('adam', ['adam'] as const, 'optimizer'),
  val_generate: int(-1, 'validation questions decoded greedily for EM/F1 (-1 = all, 0 = none)', { min: 0, sentinels: [-1] }),
} satisfies Schema;

/** `meta-train` with no key=value arguments: the embedded default experiment's options (flags). */
export const DEFAULT_SCHEMA = {
  seed: int(-1, 'run only this seed (-1: seeds 0..seeds−1)', { min: 0, sentinels: [-1] }),
  seeds: int(3, 'seeds 0..N−1 when --seed is not given (a resumed run keeps its own unless given)', { min: 1 }),
  device: COMMON_SCHEMA.device,
  outputs: text('outputs', 'output root; the run goes to <outputs>/meta-train/synthetic/<time>/'),
  resume: optText('the default run directory to continue (skips its finished phases)'),
  quick: flag(false, 'a reduced version (for tests)'),
} satisfies Schema;

export type DefaultConfig = ConfigOf<typeof DEFAULT_SCHEMA>;
export type CommonConfig = ConfigOf<typeof COMMON_SCHEMA>;
export type TrainConfig = ConfigOf<typeof TRAIN_SCHEMA>;
export type EvalConfig = ConfigOf<typeof EVAL_SCHEMA>;
export type QaConfig = ConfigOf<typeof QA_SCHEMA>;

/**
 * A reference key with no meaning here: `accepts` says which values are harmless (they are then
 * ignored with `reason` as the notice); other values are refused, since they ask for behaviour this
 * project does not have.
 */
export interface ForeignKey {
  reason: string;
  accepts?: (raw: string) => boolean;
}

const any = () => true;
const oneOfRaw = (...vals: string[]) => (raw: string) => vals.includes(raw.trim().toLowerCase().replace(/^\[|\]$/g, '').replace(/['"\s]/g, ''));
const off = oneOfRaw('false', '0', 'no', 'off');

const COMMON_FOREIGN: Record<string, ForeignKey> = {
  wandb_log: { reason: 'no wandb here: metrics go to metrics.jsonl and report.html', accepts: any },
  wandb_project: { reason: 'no wandb here', accepts: any },
  wandb_run_name: { reason: 'no wandb here; the run directory name has the time', accepts: any },
  debug: { reason: 'memory prints only; see CAMELS_DEBUG and `bench model` for memory figures', accepts: any },
  log_dir: { reason: 'runs are written to <outputs>/<task>/<dataset>/<time>/', accepts: any },
  grad_checkpointing: { reason: 'gradient checkpointing is not implemented; it changes memory only, never results', accepts: any },
  bm_learned_layers: { reason: 'all base layers are trained (-1), as in the reference default', accepts: oneOfRaw('-1') },
};

export const TRAIN_FOREIGN: Record<string, ForeignKey> = {
  ...COMMON_FOREIGN,
  val_em: { reason: 'validation uses the outer loss, as the reference does (val_em only built unused fields)', accepts: any },
  save_steps: { reason: 'checkpoints follow checkpoint_every', accepts: any },
  sample_weights: { reason: 'sample weights are drawn in report.html', accepts: any },
  sample_steps: { reason: 'sample weights are drawn in report.html', accepts: any },
  log_stepwise_metrics: { reason: 'per-step metrics are always in metrics.jsonl', accepts: any },
  reduce_lr_on_plateau: { reason: 'not implemented (the reference default is off)', accepts: off },
  qa_loc: { reason: 'QA locality is not implemented (the reference default is off)', accepts: off },
  freeze_base: { reason: 'the weight model body is trained, as in the reference default', accepts: off },
  non_linearity: { reason: 'the weight model ends in softplus, as in the reference', accepts: oneOfRaw('softplus') },
  model_type: { reason: 'same as weight_model', accepts: oneOfRaw('camels') },
  early_stop: { reason: 'unused by run.py', accepts: any },
};

export const EVAL_FOREIGN: Record<string, ForeignKey> = {
  ...COMMON_FOREIGN,
  lt_epochs: { reason: 'unused in the reference (light-tune runs by steps)', accepts: any },
  lt_grad_acc_steps: { reason: 'unused in the reference: light-tune uses grad_acc_steps', accepts: any },
  lt_early_stop: { reason: 'light-tune always stops early, as the reference does', accepts: any },
  delete_checkpoints: { reason: 'adaptation keeps no per-document checkpoints', accepts: any },
  eval_every_k: { reason: 'intermediate evaluation is not implemented (the reference default is -1)', accepts: oneOfRaw('-1') },
  unrelated_qa_eval: { reason: 'not implemented (the reference default is off)', accepts: off },
  eval: { reason: 'EM and F1 are always reported (the reference default [em])', accepts: oneOfRaw('em') },
  subdir: { reason: 'outputs go to the run directory', accepts: any },
  init_scalar: { reason: 'uniform weights are 1, as in the reference', accepts: oneOfRaw('1', '1.0') },
  model_type: { reason: 'same as weight_model', accepts: any },
  early_stop: { reason: 'unused by run.py', accepts: any },
};

export const QA_FOREIGN: Record<string, ForeignKey> = {
  ...COMMON_FOREIGN,
  early_stop: { reason: 'QA tuning always stops early by stop_k, as the reference does', accepts: any },
  save_path: { reason: 'checkpoints go to <run dir>/checkpoints', accepts: any },
};

/** Old or alternative spellings mapped to this project's keys, per task. */
export const TRAIN_ALIASES: Record<string, string> = { model: 'weight_model', 'weight_model.model_type': 'weight_model', 'weight_model.pretrained_model': 'pretrained_model', 'weight_model.normalize': 'normalize' };
export const EVAL_ALIASES: Record<string, string> = { model: 'weight_model', 'weight_model.model_type': 'weight_model', 'weight_model.normalize': 'normalize' };
/** train_qa.py names the base model `model` and its starting weights `load_state_dict_path`. */
export const QA_ALIASES: Record<string, string> = { model: 'base_model', load_state_dict_path: 'base_model_state_dict' };
