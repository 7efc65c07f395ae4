// The one place a user's model reference becomes files: a local model directory stays as it is; a
// Hugging Face hub id (`distilgpt2`, `EleutherAI/gpt-neo-125m`, `org/name@revision`) becomes its
// snapshot in the hub cache (downloaded when missing and allowed); and the reference's
// `base_model_state_dict` (a .pt / .safetensors state dict, or a model directory) picks the weights.
// Every command and task that takes a model goes through these functions.

import fs from 'node:fs';
import path from 'node:path';
import { looksLikeHubId } from './hub/cache.js';
import { resolveHubModel } from './hub/resolve.js';
import { loadPretrained, type CausalLM, type LoadOptions } from './pretrained.js';

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  /** Only these files of a hub model are needed (e.g. ['config.json']). */
  files?: string[];
}

/** A local directory for a model directory path or a hub id; clear errors for everything else. */
export async function resolveModelSource(nameOrPath: string, opts: ResolveOptions = {}): Promise<string> {
  if (!nameOrPath) throw new Error('model: empty model name or path');
  if (fs.existsSync(nameOrPath)) {
    if (!fs.statSync(nameOrPath).isDirectory()) {
      throw new Error(`model '${nameOrPath}' is a file, not a Hugging Face model directory (config.json + weights) or hub id. A state dict (.pt, .safetensors) goes in base_model_state_dict (with base_model naming the architecture), or convert it: camels-gpu convert ${nameOrPath} OUT_DIR --base BASE_MODEL`);
    }
    const missing = (opts.files ?? ['config.json']).filter((f) => !fs.existsSync(path.join(nameOrPath, f)));
    if (missing.length) throw new Error(`model '${nameOrPath}' is not a Hugging Face model directory (no ${missing.join(', ')})`);
    return nameOrPath;
  }
  const local = nameOrPath.startsWith('.') || nameOrPath.includes('\\') || path.isAbsolute(nameOrPath);
  if (local || !looksLikeHubId(nameOrPath)) {
    throw new Error(`model '${nameOrPath}' is not a Hugging Face model directory (no such directory)${local ? '' : ' nor a hub id (name, org/name or org/name@revision)'}`);
  }
  return resolveHubModel(nameOrPath, { env: opts.env, files: opts.files });
}

export interface BaseModelSource {
  /** Model directory giving config.json (and the tokenizer). */
  dir: string;
  /** A state-dict file replacing the directory's weights, or null. */
  weights: string | null;
}

/**
 * The reference's base model keys: `base_model` (directory or hub id) and `base_model_state_dict`
 * (a .pt / .safetensors state dict loaded into it, as run.py does — or a model directory, which
 * then stands alone).
 */
export async function resolveBaseModel(baseModel: string | null, stateDict: string | null, opts: ResolveOptions = {}): Promise<BaseModelSource> {
  if (stateDict && fs.existsSync(stateDict) && fs.statSync(stateDict).isDirectory()) return { dir: await resolveModelSource(stateDict, opts), weights: null };
  if (stateDict && !fs.existsSync(stateDict)) throw new Error(`base_model_state_dict '${stateDict}' not found`);
  if (!baseModel) {
    throw new Error(stateDict
      ? `base_model_state_dict '${stateDict}' is a state dict: set base_model to the model it was trained from (e.g. base_model=distilgpt2) for its config and tokenizer`
      : 'base_model is required (a model directory or a Hugging Face id such as distilgpt2)');
  }
  return { dir: await resolveModelSource(baseModel, opts), weights: stateDict };
}

/** `loadPretrained` for a directory or hub id (resolved, and downloaded if needed, first). */
export async function fromPretrained(nameOrPath: string, opts: LoadOptions & ResolveOptions = {}): Promise<CausalLM> {
  return loadPretrained(await resolveModelSource(nameOrPath, opts), opts);
}
