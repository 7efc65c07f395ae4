// Shared set-up for the CaMeLS task tests: a tiny random GPT-2 with the fixture tokenizer and a
// small synthetic dataset.

import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import * as E from '../../engine/index.js';
import type { DType, DeviceName } from '../../engine/index.js';
import { parseHfConfig } from '../../models/hf-config.js';
import { initModel, type CausalLM } from '../../models/pretrained.js';
import { loadTokenizer } from '../../models/tokenizer.js';
import { generateSyntheticDataset, syntheticQaExamples } from '../../camels/data/synthetic.js';
import { GOLDEN } from '../models/golden.js';

export const TOKENIZER_DIR = path.join(GOLDEN, 'tiny-gpt2');

export function tinyModel(seed = 1, dtype: DType = 'float32', device: DeviceName = 'cpu', nPositions = 256): CausalLM {
  const raw = { model_type: 'gpt2', n_layer: 1, n_embd: 16, n_head: 2, vocab_size: 512, n_positions: nPositions, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, eos_token_id: 0, bos_token_id: 0 };
  return initModel(parseHfConfig(raw), raw, { seed, dtype, device });
}

export function tokenizer() {
  return loadTokenizer(TOKENIZER_DIR);
}

export function smallData(seed = 3) {
  const ds = generateSyntheticDataset({ seed, qaPretrain: 2, metaTrain: 8, validation: 4, test: 2, distractors: 1 });
  return { ds, train: syntheticQaExamples(ds.metaTrain), val: syntheticQaExamples(ds.validation), test: ds.test };
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export { E };
