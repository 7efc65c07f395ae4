// Converting state dicts (torch.save .pt/.bin files, or safetensors) to safetensors:
//  - to a .safetensors file: every tensor under its own key, in its own dtype (bool stays BOOL,
//    8/16-bit integers are widened to I32), strided views made contiguous, tied tensors each
//    written out (safetensors has no aliasing);
//  - to a model directory, given a base model (directory or hub id) for config.json and the
//    tokenizer: the parameters the base config expects, matched as loadPretrained matches them
//    (buffers dropped, tied lm_head copy dropped, shapes checked), in their dtypes.

import fs from 'node:fs';
import path from 'node:path';
import { readHfConfigFile } from './hf-config.js';
import { resolveModelSource } from './model-source.js';
import { matchParamKeys } from './pretrained.js';
import { writeSafetensors, type TensorSource, type TensorToWrite } from './safetensors.js';
import { loadStateDictFile } from './weights-file.js';

/** Files copied from the base model directory next to the converted weights. */
const BASE_SIDE_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt'];

export interface ConvertResult {
  output: string;
  tensors: number;
  /** dtype code → tensor count, as written. */
  dtypes: Record<string, number>;
  /** Keys of the input not written (buffers, tied copies) for a model directory. */
  skipped: string[];
}

/** One tensor of a source in a dtype the safetensors writer keeps. */
function tensorToWrite(src: TensorSource, key: string): TensorToWrite {
  const code = src.info(key).dtype;
  const t = src.read(key);
  const shape = t.shape;
  switch (code) {
    case 'F16': return { dtype: 'float16', shape, data: t.data }; // exact: float16 → float32 → float16
    case 'BF16': return { dtype: 'bfloat16', shape, data: t.data };
    case 'BOOL': return { dtype: 'bool', shape, data: t.data };
    default: return { dtype: t.dtype, shape, data: t.data };
  }
}

function writeCounted(file: string, tensors: Record<string, TensorToWrite>, metadata: Record<string, string>): Record<string, number> {
  writeSafetensors(file, tensors, metadata);
  const dtypes: Record<string, number> = {};
  for (const t of Object.values(tensors)) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
  return dtypes;
}

/** Convert a state-dict file to a .safetensors file (every tensor, own dtypes). */
export function convertToSafetensorsFile(input: string, output: string): ConvertResult {
  const src = loadStateDictFile(input);
  try {
    const tensors: Record<string, TensorToWrite> = {};
    for (const k of src.keys()) tensors[k] = tensorToWrite(src, k);
    fs.mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
    const dtypes = writeCounted(output, tensors, { format: 'pt', converted_from: path.basename(input) });
    return { output, tensors: Object.keys(tensors).length, dtypes, skipped: [] };
  } finally {
    src.close();
  }
}

/** Convert a state-dict file to a model directory, config and tokenizer from `base` (dir or hub id). */
export async function convertToModelDir(input: string, outDir: string, base: string): Promise<ConvertResult> {
  const baseDir = await resolveModelSource(base);
  const { config } = readHfConfigFile(baseDir);
  const src = loadStateDictFile(input);
  try {
    const match = matchParamKeys(src, config, input);
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, key] of match) tensors[name] = tensorToWrite(src, key);
    const used = new Set(match.values());
    fs.mkdirSync(outDir, { recursive: true });
    for (const f of BASE_SIDE_FILES) if (fs.existsSync(path.join(baseDir, f))) fs.copyFileSync(path.join(baseDir, f), path.join(outDir, f));
    const dtypes = writeCounted(path.join(outDir, 'model.safetensors'), tensors, { format: 'pt', converted_from: path.basename(input) });
    return { output: outDir, tensors: match.size, dtypes, skipped: src.keys().filter((k) => !used.has(k)) };
  } finally {
    src.close();
  }
}
