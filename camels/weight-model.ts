// The CaMeLS weight model (reference spec 1.2): a GPT-2 body, Linear(d, h) → exact GELU →
// Linear(h, 1) (zero-initialised) → softplus(β = 3), times the attention mask. Checkpoints use the
// reference's state-dict keys (gpt_base.*, fc1.*, fc2.*), in safetensors or in run.py's torch.save
// files ({'state_dict': …}).

import fs from 'node:fs';
import path from 'node:path';
import * as E from '../engine/index.js';
import type { DType, DeviceName, Tensor } from '../engine/index.js';
import { makeDirs, withFsErrors } from '../engine/io/fs-errors.js';
import { readUtf8File } from '../engine/io/utf8.js';
import { HostRng } from '../engine/random.js';
import { parseHfConfig, type HfConfig } from '../models/hf-config.js';
import { transformerForward, type Params } from '../models/gpt.js';
import { countNonFinite, paramsToHost, readParams } from '../models/pretrained.js';
import { writeSafetensors } from '../models/safetensors.js';
import { loadStateDictFile } from '../models/weights-file.js';
import { resolveModelSource } from '../models/model-source.js';
import { fsyncPath, writeAtomic } from './runs/atomic-files.js';

export interface CamelsWeightModel {
  /** Config of the GPT-2 body. */
  bodyConfig: HfConfig;
  bodyRawConfig: Record<string, unknown>;
  /** transformer.* (body, HF names), fc1.weight [h, d], fc1.bias [h], fc2.weight [1, h], fc2.bias [1]. */
  params: Params;
  /** softplus β (3 in the reference). */
  beta: number;
  /**
   * The reference's `normalize` option (off by default there): each row's weights rescaled to mean 1
   * over its real tokens, w_b ← w_b · Σ_t m_bt / Σ_t w_bt, so only their distribution over tokens is
   * learned, not their scale. Saved in the body config sidecar as `camels_normalize`.
   */
  normalize: boolean;
}

/** The sidecar key that records `normalize` next to the body's config. */
export const NORMALIZE_KEY = 'camels_normalize';

/** Per-token weights [B, T] = softplus_β(fc2(gelu(fc1(body(ids))))) · mask. The body sees no attention mask (reference). */
export function tokenWeights(wm: CamelsWeightModel, params: Params, ids: Tensor, mask: Tensor, mode: { training?: boolean; dropoutSeed?: number } = {}): Tensor {
  const { hidden } = transformerForward(wm.bodyConfig, params, ids, mode); // [B, T, d]
  const h = E.geluErf(E.linear(hidden, params['fc1.weight']!, params['fc1.bias']!, 'out_in')); // [B, T, hdim]
  const z = E.linear(h, params['fc2.weight']!, params['fc2.bias']!, 'out_in'); // [B, T, 1]
  const [B, T] = ids.shape as [number, number];
  const w = E.mul(E.softplus(E.reshape(z, [B, T]), wm.beta, 20), mask); // [B, T]
  if (!wm.normalize) return w;
  return E.mul(w, E.div(E.sum(mask, -1, true), E.sum(w, -1, true))); // [B, T] · [B, 1]
}

/** Load a weight model: a state dict (safetensors or .pt) with gpt_base.* / fc1.* / fc2.* keys, plus the body's config JSON. */
export function loadWeightModel(file: string, bodyConfigFile: string, opts: { device?: DeviceName; dtype?: DType; normalize?: boolean } = {}): CamelsWeightModel {
  if (!fs.existsSync(bodyConfigFile)) throw new Error(`weight model: body config '${bodyConfigFile}' not found`);
  const raw = JSON.parse(readUtf8File(bodyConfigFile)) as Record<string, unknown>;
  const bodyConfig = parseHfConfig({ model_type: 'gpt2', ...raw }, bodyConfigFile);
  const f = loadStateDictFile(file);
  try {
    const params = readParams(f, bodyConfig, file, { ...opts, stripPrefix: 'gpt_base.', bodyOnly: true });
    const dtype = opts.dtype ?? 'float32';
    for (const k of ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']) {
      if (!f.has(k)) throw new Error(`weight model '${file}': missing key '${k}'`);
      const data = dtype === 'float64' ? f.readAsFloat64(k) : f.readAsFloat32(k);
      const bad = countNonFinite(data);
      if (bad > 0) {
        for (const t of Object.values(params)) t.dispose();
        throw new Error(`weight model '${file}': non-finite weights (NaN or Inf) in ${k}: ${bad} of ${data.length}`);
      }
      params[k] = E.keep(E.tensor(data, f.info(k).shape, { dtype, device: opts.device, requiresGrad: true, name: k }));
    }
    const d = bodyConfig.nEmbd;
    const w1 = params['fc1.weight']!.shape;
    if (w1[1] !== d || params['fc2.weight']!.shape[1] !== w1[0]) {
      throw new Error(`weight model '${file}': fc1.weight [${w1.join(', ')}] / fc2.weight [${params['fc2.weight']!.shape.join(', ')}] do not fit body width ${d}`);
    }
    const { [NORMALIZE_KEY]: saved, ...bodyRaw } = raw;
    if (saved !== undefined && typeof saved !== 'boolean') throw new Error(`weight model: '${bodyConfigFile}': ${NORMALIZE_KEY} must be true or false, got ${JSON.stringify(saved)}`);
    // The choice recorded with the checkpoint wins; asking for normalize=true on weights learned
    // without it is refused (their scale was learned, not their distribution alone).
    if (saved === false && opts.normalize === true) {
      for (const t of Object.values(params)) t.dispose();
      throw new Error(`weight model '${file}' was meta-trained without normalize (${bodyConfigFile}: ${NORMALIZE_KEY} false); normalize=true would change what it learned`);
    }
    return { bodyConfig, bodyRawConfig: bodyRaw, params, beta: 3, normalize: saved ?? opts.normalize ?? false };
  } finally {
    f.close();
  }
}

/** The reference's default weight-model body (conf/weight_model/CaMeLS.yaml: pretrained_model). */
export const REFERENCE_BODY_MODEL = 'distilgpt2';

/**
 * The body config for a weight-model checkpoint: the `<name>.config.json` this project writes next
 * to it, else the config.json of `bodyModel` (a directory or hub id; run.py's .pt files carry no
 * config, their body is `pretrained_model`, distilgpt2 by default).
 */
export async function weightModelBodyConfig(file: string, bodyModel: string | null): Promise<string> {
  if (!fs.existsSync(file)) throw new Error(`weight model '${file}' not found`);
  const sidecar = file.replace(/\.(safetensors|pt|pth|bin|ckpt)$/, '') + '.config.json';
  if (fs.existsSync(sidecar)) return sidecar;
  const dir = await resolveModelSource(bodyModel ?? REFERENCE_BODY_MODEL, { files: ['config.json'] });
  return path.join(dir, 'config.json');
}

/**
 * A new weight model around a body's parameters: fc1 with PyTorch's default Linear init
 * (U(±1/√d) for weight and bias), fc2 zero (so every initial weight is softplus_3(0) = ln2/3).
 */
export function newWeightModel(bodyConfig: HfConfig, bodyRawConfig: Record<string, unknown>, bodyParams: Params, hidden: number, seed: number, options: { normalize?: boolean } = {}): CamelsWeightModel {
  const d = bodyConfig.nEmbd;
  const rng = new HostRng(seed);
  const dev = Object.values(bodyParams)[0]!;
  const bound = 1 / Math.sqrt(d);
  const u = (n: number) => Array.from({ length: n }, () => (2 * rng.uniform() - 1) * bound);
  const opts = { dtype: dev.dtype, device: dev.device, requiresGrad: true };
  const params: Params = { ...bodyParams };
  params['fc1.weight'] = E.keep(E.tensor(u(hidden * d), [hidden, d], { ...opts, name: 'fc1.weight' }));
  params['fc1.bias'] = E.keep(E.tensor(u(hidden), [hidden], { ...opts, name: 'fc1.bias' }));
  params['fc2.weight'] = E.keep(E.zeros([1, hidden], { ...opts, name: 'fc2.weight' }));
  params['fc2.bias'] = E.keep(E.zeros([1], { ...opts, name: 'fc2.bias' }));
  return { bodyConfig, bodyRawConfig, params, beta: 3, normalize: options.normalize ?? false };
}

/** Save with the reference's key names (gpt_base.* without the transformer. prefix). */
export async function saveWeightModel(wm: CamelsWeightModel, file: string): Promise<void> {
  const host = await paramsToHost(wm.params);
  const out: typeof host = {};
  for (const [k, v] of Object.entries(host)) {
    const bad = countNonFinite(v.data as ArrayLike<number>);
    if (bad > 0) throw new Error(`refusing to write the weight model ${file}: '${k}' has ${bad} non-finite value(s)`);
    out[k.startsWith('transformer.') ? `gpt_base.${k.slice('transformer.'.length)}` : k] = v;
  }
  makeDirs(path.dirname(file), 'create the weight model directory');
  // The body config first (it never changes within a run), then the weights, each replaced atomically.
  const sidecar = { ...wm.bodyRawConfig, [NORMALIZE_KEY]: wm.normalize };
  writeAtomic(file.replace(/\.safetensors$/, '') + '.config.json', JSON.stringify(sidecar, null, 1));
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  writeSafetensors(tmp, out, { format: 'pt', camels: 'weight-model' });
  fsyncPath(tmp);
  withFsErrors(file, `rename ${tmp} to`, () => fs.renameSync(tmp, file));
  fsyncPath(path.dirname(file));
}
