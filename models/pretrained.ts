// Loading and saving Hugging Face model directories (config.json + safetensors), and building a
// freshly initialised model from a config. Parameters are keyed by HF names.

import fs from 'node:fs';
import path from 'node:path';
import * as E from '../engine/index.js';
import type { DType, DeviceName, Tensor } from '../engine/index.js';
import { makeDirs, withFsErrors } from '../engine/io/fs-errors.js';
import { HostRng } from '../engine/random.js';
import { readHfConfigFile, writeHfConfig, type HfConfig } from './hf-config.js';
import { isIgnorableBuffer, paramSpecs } from './param-names.js';
import { writeSafetensors, type TensorSource, type TensorToWrite } from './safetensors.js';
import { loadStateDictFile, openModelWeights } from './weights-file.js';
import type { Params } from './gpt.js';

export interface CausalLM {
  config: HfConfig;
  /** config.json as read (kept so savePretrained writes back every field). */
  rawConfig: Record<string, unknown>;
  params: Params;
  dtype: DType;
  device: DeviceName;
}

export interface LoadOptions {
  device?: DeviceName;
  /** float32 (default) or float64 (cpu only, for checks). */
  dtype?: DType;
  /** Parameters require gradients (default true). */
  trainable?: boolean;
  /**
   * A state-dict file whose weights replace the directory's (the reference's
   * `base_model_state_dict`: a .pt from train_qa.py, or a .safetensors); the directory still gives
   * config.json. Causal-mask buffers are skipped and a tied lm_head copy is dropped.
   */
  weights?: string | null;
}

export interface KeyMatchOptions {
  /** Only keys with this prefix, which is stripped (e.g. `gpt_base.`). */
  stripPrefix?: string;
  /** Only the transformer body (weight-model bodies). */
  bodyOnly?: boolean;
}

/**
 * Map checkpoint keys to HF parameter names: accepts keys with or without the `transformer.`
 * prefix (GPT2Model-style files), after stripping `stripPrefix` (e.g. `gpt_base.`). Buffers
 * (attn.bias / attn.masked_bias) and a tied lm_head copy are skipped; missing, unexpected and
 * mis-shaped keys are one error listing them all. Returns parameter name → file key, in spec order.
 */
export function matchParamKeys(source: TensorSource, cfg: HfConfig, where: string, opts: KeyMatchOptions = {}): Map<string, string> {
  const specs = paramSpecs(cfg).filter((s) => !opts.bodyOnly || s.name.startsWith('transformer.'));
  const wanted = new Map(specs.map((s) => [s.name, s]));
  const found = new Map<string, string>(); // param name -> file key
  const unexpected: string[] = [];
  for (const key of source.keys()) {
    let k = key;
    if (opts.stripPrefix) {
      if (!k.startsWith(opts.stripPrefix)) continue;
      k = k.slice(opts.stripPrefix.length);
    }
    if (isIgnorableBuffer(k)) continue;
    const name = wanted.has(k) ? k : wanted.has(`transformer.${k}`) ? `transformer.${k}` : null;
    if (name) found.set(name, key);
    else if (k === 'lm_head.weight' && cfg.tieWordEmbeddings && cfg.modelType !== 'gptj') continue; // tied copy
    else unexpected.push(key);
  }
  const missing = specs.filter((s) => !found.has(s.name)).map((s) => s.name);
  const badShape: string[] = [];
  for (const [name, key] of found) {
    const shape = source.info(key).shape;
    const want = wanted.get(name)!.shape;
    if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) badShape.push(`${key}: file [${shape.join(', ')}], config expects [${want.join(', ')}]`);
  }
  const problems: string[] = [];
  if (missing.length) problems.push(`missing keys (${missing.length}): ${missing.join(', ')}`);
  if (unexpected.length) problems.push(`unexpected keys (${unexpected.length}): ${unexpected.join(', ')}`);
  if (badShape.length) problems.push(`shape mismatches: ${badShape.join('; ')}`);
  if (problems.length) throw new Error(`loadPretrained ${where}: checkpoint does not match config.json (${cfg.modelType}):\n  ${problems.join('\n  ')}`);
  return new Map(specs.map((s) => [s.name, found.get(s.name)!]));
}

/** Read a checkpoint's parameters (matched by matchParamKeys) as engine tensors. */
export function readParams(
  source: TensorSource,
  cfg: HfConfig,
  where: string,
  opts: LoadOptions & KeyMatchOptions = {},
): Params {
  const found = matchParamKeys(source, cfg, where, opts);
  const specs = paramSpecs(cfg).filter((s) => found.has(s.name));
  const dtype = opts.dtype ?? 'float32';
  const params: Params = {};
  const nonFinite: string[] = [];
  for (const s of specs) {
    const key = found.get(s.name)!;
    const data = dtype === 'float64' ? source.readAsFloat64(key) : source.readAsFloat32(key);
    const bad = countNonFinite(data);
    if (bad > 0) nonFinite.push(`${key}: ${bad} of ${data.length}`);
    params[s.name] = E.keep(E.tensor(data, s.shape, { dtype, device: opts.device, requiresGrad: opts.trainable ?? true, name: s.name }));
  }
  if (nonFinite.length) {
    for (const t of Object.values(params)) t.dispose();
    throw new Error(`loadPretrained ${where}: non-finite weights (NaN or Inf) in ${nonFinite.length} tensor(s): ${nonFinite.join('; ')}`);
  }
  return params;
}

/** How many entries of `data` are NaN or ±Inf (x - x is 0 exactly for finite x). */
export function countNonFinite(data: ArrayLike<number>): number {
  let bad = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! - data[i]! !== 0) bad++;
  return bad;
}

/**
 * Load a Hugging Face model directory (config.json + model.safetensors, its sharded index, or
 * pytorch_model.bin), optionally with the weights of another state-dict file (`opts.weights`).
 * Hub ids are resolved to directories by resolveModelSource / fromPretrained.
 */
export function loadPretrained(dir: string, opts: LoadOptions = {}): CausalLM {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`loadPretrained: '${dir}' is not a directory`);
  const { config, raw } = readHfConfigFile(dir);
  const ckpt = opts.weights ? loadStateDictFile(opts.weights) : openModelWeights(dir);
  try {
    const params = readParams(ckpt, config, opts.weights ?? dir, opts);
    return { config, rawConfig: raw, params, dtype: opts.dtype ?? 'float32', device: opts.device ?? E.defaultDeviceName() };
  } finally {
    ckpt.close();
  }
}

/** A freshly initialised model (HF init: normal(0, initializer_range) weights, zero biases, unit LN gains). */
export function initModel(config: HfConfig, rawConfig: Record<string, unknown>, opts: LoadOptions & { seed: number }): CausalLM {
  const rng = new HostRng(opts.seed);
  const dtype = opts.dtype ?? 'float32';
  const params: Params = {};
  for (const s of paramSpecs(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const vals = new Float64Array(n);
    if (s.init === 'ones') vals.fill(1);
    else if (s.init === 'normal') {
      // GPT-2 scales residual output projections by 1/sqrt(2 n_layer)
      const resid = /\.(c_proj|out_proj|fc_out)\.weight$/.test(s.name) ? 1 / Math.sqrt(2 * config.nLayer) : 1;
      for (let i = 0; i < n; i++) vals[i] = rng.normal() * config.initializerRange * resid;
    }
    params[s.name] = E.keep(E.tensor(vals, s.shape, { dtype, device: opts.device, requiresGrad: opts.trainable ?? true, name: s.name }));
  }
  return { config, rawConfig, params, dtype, device: opts.device ?? E.defaultDeviceName() };
}

/** Parameter tensors to float32 host arrays for writing. */
export async function paramsToHost(params: Params): Promise<Record<string, TensorToWrite>> {
  const out: Record<string, TensorToWrite> = {};
  for (const [k, t] of Object.entries(params)) {
    const d = await t.data();
    out[k] = { dtype: 'float32', shape: [...t.shape], data: d instanceof Float32Array ? d : Float32Array.from(d) };
  }
  return out;
}

/** Write a directory transformers can load: config.json + model.safetensors (float32). */
export async function savePretrained(model: CausalLM, dir: string, extraFiles: string[] = []): Promise<void> {
  makeDirs(dir, 'create the model directory');
  writeHfConfig(dir, model.config, model.rawConfig);
  writeSafetensors(path.join(dir, 'model.safetensors'), await paramsToHost(model.params), { format: 'pt' });
  for (const f of extraFiles) {
    const to = path.join(dir, path.basename(f));
    if (fs.existsSync(f)) withFsErrors(to, `copy ${f} to`, () => fs.copyFileSync(f, to));
  }
}

export function disposeModel(model: CausalLM): void {
  for (const t of Object.values(model.params)) t.dispose();
}

export type { Tensor };
