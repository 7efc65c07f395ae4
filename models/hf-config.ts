// Hugging Face config.json for GPT-2, GPT-Neo and GPT-J: read, validate, normalise, write back.
//
// readHfConfig() turns a config.json into a typed config with one naming scheme for all three
// architectures. Missing keys take the defaults of the corresponding transformers config class
// (GPT2Config, GPTNeoConfig, GPTJConfig); derived sizes are resolved (nInner/intermediateSize
// null -> 4 * nEmbd, GPT-J rotary_dim null -> head dim, GPT-Neo attention_types expanded to one
// entry per layer). Every problem is an HfConfigError naming the file and the field.
// writeHfConfig() writes the config back under the transformers key names, keeping the fields
// of an original raw config.json whenever they still mean the same thing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeFsError } from '../engine/io/fs-errors.js';
import { readUtf8File, Utf8Error } from '../engine/io/utf8.js';

export class HfConfigError extends Error {
  readonly file: string;
  readonly field: string | undefined;
  constructor(file: string, field: string | undefined, detail: string) {
    super(`config '${file}'${field !== undefined ? `, field '${field}'` : ''}: ${detail}`);
    this.name = 'HfConfigError';
    this.file = file;
    this.field = field;
  }
}

export type HfModelType = 'gpt2' | 'gpt_neo' | 'gptj';

/** Activation names understood by transformers' ACT2FN that the GPT models may use. */
export const HF_ACTIVATIONS = [
  'gelu_new', 'gelu', 'gelu_fast', 'gelu_pytorch_tanh', 'gelu_python', 'gelu_accurate', 'quick_gelu',
  'relu', 'relu6', 'leaky_relu', 'silu', 'swish', 'mish', 'tanh', 'sigmoid', 'linear',
] as const;
export type HfActivation = (typeof HF_ACTIVATIONS)[number];

export interface HfConfigCommon {
  modelType: HfModelType;
  vocabSize: number;
  /** Maximum sequence length (n_positions / max_position_embeddings). */
  nPositions: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  layerNormEpsilon: number;
  activation: HfActivation;
  residDropout: number;
  embdDropout: number;
  attnDropout: number;
  initializerRange: number;
  bosTokenId: number | null;
  eosTokenId: number | null;
  padTokenId: number | null;
  tieWordEmbeddings: boolean;
}

export interface Gpt2Config extends HfConfigCommon {
  modelType: 'gpt2';
  /** MLP hidden size (n_inner, default 4 * nEmbd). */
  nInner: number;
  scaleAttnWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
  reorderAndUpcastAttn: boolean;
}

export type GptNeoAttentionKind = 'global' | 'local';

export interface GptNeoConfig extends HfConfigCommon {
  modelType: 'gpt_neo';
  /** One entry per layer, expanded from attention_types. */
  attentionLayers: GptNeoAttentionKind[];
  windowSize: number;
  /** MLP hidden size (intermediate_size, default 4 * nEmbd). */
  intermediateSize: number;
}

export interface GptjConfig extends HfConfigCommon {
  modelType: 'gptj';
  /** Rotary dimensions per head (rotary_dim, default: the whole head). */
  rotaryDim: number;
  /** MLP hidden size (n_inner, default 4 * nEmbd). */
  nInner: number;
}

export type HfConfig = Gpt2Config | GptNeoConfig | GptjConfig;

type Raw = Record<string, unknown>;

/** Defaults of the transformers config classes (same keys as config.json). */
const DEFAULTS: Record<HfModelType, Raw> = {
  gpt2: {
    vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, n_inner: null,
    activation_function: 'gelu_new', resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1,
    layer_norm_epsilon: 1e-5, initializer_range: 0.02, scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false, reorder_and_upcast_attn: false,
    bos_token_id: 50256, eos_token_id: 50256, pad_token_id: null, tie_word_embeddings: true,
  },
  gpt_neo: {
    vocab_size: 50257, max_position_embeddings: 2048, hidden_size: 2048, num_layers: 24,
    attention_types: [[['global', 'local'], 12]], num_heads: 16, intermediate_size: null, window_size: 256,
    activation_function: 'gelu_new', resid_dropout: 0.0, embed_dropout: 0.0, attention_dropout: 0.0,
    layer_norm_epsilon: 1e-5, initializer_range: 0.02, bos_token_id: 50256, eos_token_id: 50256,
    pad_token_id: null, tie_word_embeddings: true,
  },
  gptj: {
    vocab_size: 50400, n_positions: 2048, n_embd: 4096, n_layer: 28, n_head: 16, rotary_dim: 64,
    n_inner: null, activation_function: 'gelu_new', resid_pdrop: 0.0, embd_pdrop: 0.0, attn_pdrop: 0.0,
    layer_norm_epsilon: 1e-5, initializer_range: 0.02, bos_token_id: 50256, eos_token_id: 50256,
    pad_token_id: null, tie_word_embeddings: false,
  },
};

/** config.json key of each common field, per architecture (first = canonical, rest = aliases). */
const KEYS: Record<HfModelType, Record<string, string[]>> = {
  gpt2: {
    nPositions: ['n_positions', 'max_position_embeddings'], nEmbd: ['n_embd', 'hidden_size'],
    nLayer: ['n_layer', 'num_hidden_layers'], nHead: ['n_head', 'num_attention_heads'],
    residDropout: ['resid_pdrop'], embdDropout: ['embd_pdrop'], attnDropout: ['attn_pdrop'],
  },
  gpt_neo: {
    nPositions: ['max_position_embeddings'], nEmbd: ['hidden_size'],
    nLayer: ['num_layers', 'num_hidden_layers'], nHead: ['num_heads', 'num_attention_heads'],
    residDropout: ['resid_dropout'], embdDropout: ['embed_dropout'], attnDropout: ['attention_dropout'],
  },
  gptj: {
    nPositions: ['n_positions', 'max_position_embeddings'], nEmbd: ['n_embd', 'hidden_size'],
    nLayer: ['n_layer', 'num_hidden_layers'], nHead: ['n_head', 'num_attention_heads'],
    residDropout: ['resid_pdrop'], embdDropout: ['embd_pdrop'], attnDropout: ['attn_pdrop'],
  },
};

/** Typed field access with defaults; errors name the file and the field. */
class Fields {
  constructor(private readonly file: string, private readonly raw: Raw, private readonly defaults: Raw) {}

  fail(field: string, detail: string): never {
    throw new HfConfigError(this.file, field, detail);
  }

  /** Value of the first present key among names, else the default of the canonical name. */
  private get(names: string[]): [string, unknown] {
    for (const n of names) if (Object.prototype.hasOwnProperty.call(this.raw, n)) return [n, this.raw[n]];
    const n = names[0]!;
    if (!Object.prototype.hasOwnProperty.call(this.defaults, n)) this.fail(n, 'missing required field');
    return [n, this.defaults[n]];
  }

  int(names: string[], min: number): number {
    const [n, v] = this.get(names);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      this.fail(n, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  intOrNull(names: string[], min: number): number | null {
    const [n, v] = this.get(names);
    if (v === null || v === undefined) return null;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      this.fail(n, `must be null or an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  /** Token id: null, an integer, or a list of integers (the first is taken). */
  tokenId(name: string): number | null {
    const [n, v] = this.get([name]);
    const first = Array.isArray(v) ? (v.length > 0 ? v[0] : null) : v;
    if (first === null || first === undefined) return null;
    if (typeof first !== 'number' || !Number.isSafeInteger(first) || first < 0) {
      this.fail(n, `must be null, a non-negative integer or a list of them, got ${JSON.stringify(v)}`);
    }
    return first;
  }

  num(names: string[], lo: number, hi: number, loOpen = false): number {
    const [n, v] = this.get(names);
    if (typeof v !== 'number' || !Number.isFinite(v) || v > hi || (loOpen ? v <= lo : v < lo)) {
      this.fail(n, `must be a number in ${loOpen ? '(' : '['}${lo}, ${hi}], got ${JSON.stringify(v)}`);
    }
    return v;
  }

  bool(name: string): boolean {
    const [n, v] = this.get([name]);
    if (typeof v !== 'boolean') this.fail(n, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  activation(): HfActivation {
    const [n, v] = this.get(['activation_function']);
    if (typeof v !== 'string' || !(HF_ACTIVATIONS as readonly string[]).includes(v)) {
      this.fail(n, `unknown activation ${JSON.stringify(v)} (known: ${HF_ACTIVATIONS.join(', ')})`);
    }
    return v as HfActivation;
  }

  raw_(name: string): unknown {
    return this.get([name])[1];
  }
}

/** Expands GPT-Neo attention_types ([[["global","local"], 6]]) into one kind per layer. */
export function expandAttentionTypes(types: unknown, file = '<config>'): GptNeoAttentionKind[] {
  const fail = (detail: string): never => {
    throw new HfConfigError(file, 'attention_types', detail);
  };
  if (!Array.isArray(types)) fail(`must be a list of [kinds, repeat] pairs, got ${JSON.stringify(types)}`);
  const out: GptNeoAttentionKind[] = [];
  for (const item of types as unknown[]) {
    if (!Array.isArray(item) || item.length !== 2 || !Array.isArray(item[0])) {
      fail(`each entry must be [[kinds...], repeat], got ${JSON.stringify(item)}`);
    }
    const [kinds, repeat] = item as [unknown[], unknown];
    if (typeof repeat !== 'number' || !Number.isSafeInteger(repeat) || repeat < 0 || repeat > 1_000_000) {
      fail(`repeat count must be a non-negative integer, got ${JSON.stringify(repeat)}`);
    }
    for (const k of kinds) {
      if (k !== 'global' && k !== 'local') fail(`attention kind must be "global" or "local", got ${JSON.stringify(k)}`);
    }
    for (let r = 0; r < (repeat as number); r++) out.push(...(kinds as GptNeoAttentionKind[]));
  }
  return out;
}

/** Compresses per-layer kinds back into attention_types: runs of one repeated pattern. */
function compressAttentionLayers(layers: GptNeoAttentionKind[]): [GptNeoAttentionKind[], number][] {
  // Smallest pattern that tiles the whole list, else the list itself once.
  for (let p = 1; p <= layers.length; p++) {
    if (layers.length % p !== 0) continue;
    if (layers.every((k, i) => k === layers[i % p])) return [[layers.slice(0, p), layers.length / p]];
  }
  return [[[...layers], 1]];
}

/** Validates a parsed config.json object; `file` is used in error messages. */
export function parseHfConfig(raw: unknown, file = '<config>'): HfConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HfConfigError(file, undefined, `must be a JSON object, got ${JSON.stringify(raw)}`);
  }
  const r = raw as Raw;
  const mt = r['model_type'];
  if (mt === undefined) throw new HfConfigError(file, 'model_type', 'missing required field');
  if (mt !== 'gpt2' && mt !== 'gpt_neo' && mt !== 'gptj') {
    throw new HfConfigError(file, 'model_type', `unsupported model_type ${JSON.stringify(mt)} (supported: gpt2, gpt_neo, gptj)`);
  }
  const modelType: HfModelType = mt;
  const f = new Fields(file, r, DEFAULTS[modelType]);
  const k = KEYS[modelType];
  const common: HfConfigCommon = {
    modelType,
    vocabSize: f.int(['vocab_size'], 1),
    nPositions: f.int(k['nPositions']!, 1),
    nEmbd: f.int(k['nEmbd']!, 1),
    nLayer: f.int(k['nLayer']!, 1),
    nHead: f.int(k['nHead']!, 1),
    layerNormEpsilon: f.num(['layer_norm_epsilon'], 0, 1, true),
    activation: f.activation(),
    residDropout: f.num(k['residDropout']!, 0, 1),
    embdDropout: f.num(k['embdDropout']!, 0, 1),
    attnDropout: f.num(k['attnDropout']!, 0, 1),
    initializerRange: f.num(['initializer_range'], 0, Number.MAX_VALUE),
    bosTokenId: f.tokenId('bos_token_id'),
    eosTokenId: f.tokenId('eos_token_id'),
    padTokenId: f.tokenId('pad_token_id'),
    tieWordEmbeddings: f.bool('tie_word_embeddings'),
  };
  if (common.nEmbd % common.nHead !== 0) {
    f.fail(k['nEmbd']![0]!, `${common.nEmbd} is not divisible by the number of heads (${common.nHead})`);
  }
  const headDim = common.nEmbd / common.nHead;
  switch (modelType) {
    case 'gpt2':
      return {
        ...common,
        modelType,
        nInner: f.intOrNull(['n_inner'], 1) ?? 4 * common.nEmbd,
        scaleAttnWeights: f.bool('scale_attn_weights'),
        scaleAttnByInverseLayerIdx: f.bool('scale_attn_by_inverse_layer_idx'),
        reorderAndUpcastAttn: f.bool('reorder_and_upcast_attn'),
      };
    case 'gpt_neo': {
      const attentionLayers = expandAttentionTypes(f.raw_('attention_types'), file);
      if (attentionLayers.length !== common.nLayer) {
        f.fail('attention_types',
          `expands to ${attentionLayers.length} layers but num_layers is ${common.nLayer}`);
      }
      if (Object.prototype.hasOwnProperty.call(r, 'attention_layers')) {
        const saved = r['attention_layers'];
        if (!Array.isArray(saved) || saved.length !== attentionLayers.length
          || saved.some((x, i) => x !== attentionLayers[i])) {
          f.fail('attention_layers', `${JSON.stringify(saved)} disagrees with attention_types (${JSON.stringify(attentionLayers)})`);
        }
      }
      return {
        ...common,
        modelType,
        attentionLayers,
        windowSize: f.int(['window_size'], 1),
        intermediateSize: f.intOrNull(['intermediate_size'], 1) ?? 4 * common.nEmbd,
      };
    }
    case 'gptj': {
      const rotaryDim = f.intOrNull(['rotary_dim'], 1) ?? headDim;
      if (rotaryDim > headDim || rotaryDim % 2 !== 0) {
        f.fail('rotary_dim', `must be even and at most the head dimension ${headDim}, got ${rotaryDim}`);
      }
      return { ...common, modelType, rotaryDim, nInner: f.intOrNull(['n_inner'], 1) ?? 4 * common.nEmbd };
    }
  }
}

/** Reads and parses a JSON file; errors name the file. */
function readJson(file: string): unknown {
  let text: string;
  try {
    text = readUtf8File(file);
  } catch (err) {
    if (err instanceof Utf8Error) throw new HfConfigError(file, undefined, err.detail);
    throw new HfConfigError(file, undefined, (err as Error).message); // an FsError: "cannot read <file>: <cause> (<code>)"
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HfConfigError(file, undefined, `invalid JSON (${(err as Error).message})`);
  }
}

function configPath(dirOrFile: string): string {
  try {
    if (fs.statSync(dirOrFile).isDirectory()) return path.join(dirOrFile, 'config.json');
  } catch {
    // Not there: the caller's read reports the missing path.
  }
  return dirOrFile;
}

/** Reads a config: `dirOrFile` is a model directory (its config.json) or a .json file. */
export function readHfConfigFile(dirOrFile: string): { config: HfConfig; raw: Record<string, unknown>; file: string } {
  const file = configPath(dirOrFile);
  const raw = readJson(file);
  const config = parseHfConfig(raw, file);
  return { config, raw: raw as Record<string, unknown>, file };
}

/** Reads and validates a model directory's config.json (or a config .json file). */
export function readHfConfig(dirOrFile: string): HfConfig {
  return readHfConfigFile(dirOrFile).config;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The config as a transformers config.json object (canonical key names, derived sizes resolved). */
function toHfFields(cfg: HfConfig): Raw {
  const k = KEYS[cfg.modelType];
  const out: Raw = {
    model_type: cfg.modelType,
    vocab_size: cfg.vocabSize,
    [k['nPositions']![0]!]: cfg.nPositions,
    [k['nEmbd']![0]!]: cfg.nEmbd,
    [k['nLayer']![0]!]: cfg.nLayer,
    [k['nHead']![0]!]: cfg.nHead,
    layer_norm_epsilon: cfg.layerNormEpsilon,
    activation_function: cfg.activation,
    [k['residDropout']![0]!]: cfg.residDropout,
    [k['embdDropout']![0]!]: cfg.embdDropout,
    [k['attnDropout']![0]!]: cfg.attnDropout,
    initializer_range: cfg.initializerRange,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    pad_token_id: cfg.padTokenId,
    tie_word_embeddings: cfg.tieWordEmbeddings,
  };
  switch (cfg.modelType) {
    case 'gpt2':
      out['n_inner'] = cfg.nInner;
      out['scale_attn_weights'] = cfg.scaleAttnWeights;
      out['scale_attn_by_inverse_layer_idx'] = cfg.scaleAttnByInverseLayerIdx;
      out['reorder_and_upcast_attn'] = cfg.reorderAndUpcastAttn;
      break;
    case 'gpt_neo':
      out['attention_types'] = compressAttentionLayers(cfg.attentionLayers);
      out['attention_layers'] = [...cfg.attentionLayers];
      out['window_size'] = cfg.windowSize;
      out['intermediate_size'] = cfg.intermediateSize;
      break;
    case 'gptj':
      out['rotary_dim'] = cfg.rotaryDim;
      out['n_inner'] = cfg.nInner;
      break;
  }
  return out;
}

/**
 * The config.json object for `cfg`. With `raw` (the original config.json), every raw field is
 * kept, and a normalised field overrides the raw one only where the two differ in meaning.
 */
export function toHfConfigJson(cfg: HfConfig, raw?: Record<string, unknown>): Record<string, unknown> {
  const fields = toHfFields(cfg);
  if (raw === undefined) return fields;
  let beforeFields: Raw | null = null;
  try {
    const before = parseHfConfig(raw, '<raw>');
    if (before.modelType === cfg.modelType) beforeFields = toHfFields(before);
  } catch {
    beforeFields = null; // raw does not parse: every normalised field is written over it
  }
  const out: Raw = { ...raw };
  for (const [key, value] of Object.entries(fields)) {
    if (beforeFields === null || !sameValue(beforeFields[key], value)) out[key] = value;
  }
  return out;
}

/** Writes `dir`/config.json for `cfg` (atomically), preserving the fields of `raw` when given. */
export function writeHfConfig(dir: string, cfg: HfConfig, raw?: Record<string, unknown>): string {
  const file = path.join(dir, 'config.json');
  const json = toHfConfigJson(cfg, raw);
  // Round-trip check: what we write must read back as the same config.
  const back = parseHfConfig(json, file);
  if (!sameValue(toHfFields(back), toHfFields(cfg))) {
    throw new HfConfigError(file, undefined, 'internal error: written config does not read back identically');
  }
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.config.json.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(json, null, 2)}\n`, { flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // the cleanup fails for the same reason as the write (e.g. ENOTDIR): report the write
    }
    throw new HfConfigError(file, undefined, `write failed: ${describeFsError(err, file, 'write').message}`);
  }
  return file;
}
