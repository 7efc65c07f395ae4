// Task configuration: the reference's Hydra defaults (spec section 6), overridable by `key=value`
// arguments exactly as in the reference README, or by --key value flags. Unknown keys and values
// of the wrong type are errors that name the key.

export type ConfigValue = string | number | boolean | null | string[];
export type Config = Record<string, ConfigValue>;

/** Keys every task shares (conf/config.yaml). */
export const COMMON_DEFAULTS: Config = {
  seed: 42,
  dataset: 'streamingqa',
  /** HF model directory of the base LM (the QA-tuned one for meta-train and eval). */
  base_model: null,
  /** Reference compatibility: a QA-tuned checkpoint directory overriding base_model's weights. */
  base_model_state_dict: null,
  tokenizer_name: null,
  device: 'auto',
  /** Output root; runs go to <outputs>/<task>/<dataset>/<time>/. */
  outputs: 'outputs',
  resume: null,
  notes: '',
  /** Dataset paths (conf/dataset/*.yaml). */
  data_dir: null,
  train_path: null,
  val_path: null,
  test_path: null,
  lt_train_path: null,
  lt_val_path: null,
  full_passage: false,
  /** SQuAD: the HF rows file (JSON/JSONL) or the official v1.1 JSON files. */
  squad_path: null,
  /** Token budget of documents (max_text_len) and QA sequences. */
  max_text_len: 1024,
  max_question_len: 128,
  max_answer_len: 24,
};

/** conf/task/train.yaml */
export const TRAIN_DEFAULTS: Config = {
  ...COMMON_DEFAULTS,
  task: 'train',
  weight_model: 'CaMeLS',
  /** HF dir of the weight model's GPT-2 body (distilgpt2 in the reference); defaults to base_model. */
  pretrained_model: null,
  weight_model_hidden: 128,
  val: true,
  n_epochs: 50,
  val_steps: 100,
  outer_lr: 1e-5,
  update_batch_size: 6,
  sequential_update: true,
  grad_acc_steps: 4,
  reset_base_freq: 24,
  loc_batch_size: 1,
  web_text_loc: true,
  web_text_csv: null,
  web_text_val_csv: null,
  c_kl: 0.1,
  c_norm: 0,
  norm: 2,
  norm_from_one: true,
  grad_clip_thresh: 1e9,
  inner_lr: 5e-4,
  num_inner_steps: 1,
  /** Deliberate deviation (spec 9.10): θ₀ locality logits in eval mode; set true for the reference's train mode. */
  kl_pre_dropout: false,
  load_checkpoint_path: null,
  /** Stop after this many outer (Adam) steps; -1 = run all epochs. */
  max_outer_steps: -1,
  /** Validation batches (-1 = the whole split). */
  val_batches: -1,
  checkpoint_every: 1,
};

/** conf/task/eval.yaml */
export const EVAL_DEFAULTS: Config = {
  ...COMMON_DEFAULTS,
  task: 'eval',
  weight_model: 'uniform',
  weight_model_path: null,
  n_epochs: 1,
  batch_size: 1,
  generation_batch_size: 1,
  grad_acc_steps: 1,
  /** One value or a comma-separated sweep (like the reference's multirun). */
  lr: '1e-4',
  qa_lt_final: false,
  lt_lr: 2.5e-5,
  lt_steps: 1000000,
  lt_val_steps: 16,
  lt_batch_size: 16,
  lt_stopping_metric: 'max_f1',
  lt_patience: 3,
  grad_clip_thresh: 750,
  downsample_to: -1,
  eval_init: false,
  optimizer: 'adam',
  num_beams: 12,
  num_beam_groups: 4,
  diversity_penalty: 10.0,
  max_new_tokens: 16,
  /** TF-IDF: quantile threshold (the reference ignored it, spec 9.3). */
  min_threshold: 0,
  tfidf_corpus: null,
};

/** conf/qa_pretrain_config.yaml */
export const QA_DEFAULTS: Config = {
  ...COMMON_DEFAULTS,
  task: 'qa',
  val_steps: 512,
  lt_batch_size: 32,
  grad_acc_steps: 2,
  train_steps: 10000000,
  lr: 2.5e-5,
  grad_clip_thresh: 100,
  qa_eos: true,
  stop_k: 10,
  stopping_metric: 'nll',
  optimizer: 'adam',
  /** Validation questions decoded greedily for EM/F1 (-1 = all). */
  val_generate: -1,
};

/** Old spellings in the reference README mapped to this project's keys. */
const ALIASES: Record<string, string> = { model: 'weight_model', 'weight_model.model_type': 'weight_model' };

function parseValue(key: string, raw: string, def: ConfigValue): ConfigValue {
  if (raw === 'null' || raw === 'None') return null;
  if (Array.isArray(def)) return raw.replace(/^\[|\]$/g, '').split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof def === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`config: '${key}' expects a number, got '${raw}'`);
    return n;
  }
  if (typeof def === 'boolean') {
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    throw new Error(`config: '${key}' expects true or false, got '${raw}'`);
  }
  if (def === null && raw !== '' && Number.isFinite(Number(raw)) && /^[-+0-9.eE]+$/.test(raw)) return Number(raw);
  return raw;
}

/** Apply `key=value` strings (and already-parsed flag values) to defaults. */
export function resolveConfig(defaults: Config, overrides: string[], flags: Record<string, unknown> = {}): Config {
  const cfg: Config = { ...defaults };
  const set = (rawKey: string, raw: string) => {
    const key = ALIASES[rawKey] ?? rawKey.replace(/^\+/, '').replace(/-/g, '_');
    if (!(key in defaults)) {
      const close = Object.keys(defaults).filter((k) => k.includes(key) || key.includes(k)).slice(0, 5);
      throw new Error(`config: unknown key '${rawKey}'${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}; see --help for the keys of this command`);
    }
    cfg[key] = parseValue(key, raw, defaults[key]!);
  };
  for (const [k, v] of Object.entries(flags)) {
    if (v === undefined || k === '--' || k.length === 1) continue;
    const key = k.replace(/([A-Z])/g, '_$1').toLowerCase();
    if (!(key in defaults)) continue;
    set(key, String(v));
  }
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new Error(`config: expected key=value, got '${o}'`);
    set(o.slice(0, eq), o.slice(eq + 1));
  }
  return cfg;
}

export function str(cfg: Config, key: string): string {
  const v = cfg[key];
  if (v === null || v === undefined || v === '') throw new Error(`config: '${key}' is required (pass ${key}=...)`);
  return String(v);
}
export function optStr(cfg: Config, key: string): string | null {
  const v = cfg[key];
  return v === null || v === undefined || v === '' ? null : String(v);
}
export function num(cfg: Config, key: string): number {
  const v = cfg[key];
  if (typeof v !== 'number') throw new Error(`config: '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}
export function bool(cfg: Config, key: string): boolean {
  const v = cfg[key];
  if (typeof v !== 'boolean') throw new Error(`config: '${key}' must be true or false, got ${JSON.stringify(v)}`);
  return v;
}
/** A number list from '1e-4,2.5e-5' or a number. */
export function numList(cfg: Config, key: string): number[] {
  const v = cfg[key];
  const parts = typeof v === 'number' ? [v] : String(v).split(',').map((s) => Number(s.trim()));
  if (parts.length === 0 || parts.some((x) => !Number.isFinite(x))) throw new Error(`config: '${key}' must be a number or comma-separated numbers, got ${JSON.stringify(v)}`);
  return parts;
}
