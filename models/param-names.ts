// The Hugging Face parameter names and shapes each architecture expects, so loading can report
// missing, unexpected and mis-shaped keys, and random initialisation can build the same record.

import type { HfConfig } from './hf-config.js';

export interface ParamSpec {
  name: string;
  shape: number[];
  /** How a fresh model initialises it (HF: normal(0, initializer_range) for weights, 0 bias, 1 LN gain). */
  init: 'normal' | 'zeros' | 'ones';
}

export function mlpSize(cfg: HfConfig): number {
  return cfg.modelType === 'gpt_neo' ? cfg.intermediateSize : cfg.nInner;
}

/** Parameter specs of a causal LM, keyed by HF names (GPT-2's LM head is tied to wte). */
export function paramSpecs(cfg: HfConfig): ParamSpec[] {
  const d = cfg.nEmbd;
  const f = mlpSize(cfg);
  const out: ParamSpec[] = [];
  const p = (name: string, shape: number[], init: ParamSpec['init'] = 'normal') => out.push({ name, shape, init });
  const ln = (prefix: string) => {
    p(`${prefix}.weight`, [d], 'ones');
    p(`${prefix}.bias`, [d], 'zeros');
  };
  p('transformer.wte.weight', [cfg.vocabSize, d]);
  if (cfg.modelType !== 'gptj') p('transformer.wpe.weight', [cfg.nPositions, d]);
  for (let l = 0; l < cfg.nLayer; l++) {
    const h = `transformer.h.${l}`;
    ln(`${h}.ln_1`);
    if (cfg.modelType === 'gpt2') {
      p(`${h}.attn.c_attn.weight`, [d, 3 * d]);
      p(`${h}.attn.c_attn.bias`, [3 * d], 'zeros');
      p(`${h}.attn.c_proj.weight`, [d, d]);
      p(`${h}.attn.c_proj.bias`, [d], 'zeros');
      ln(`${h}.ln_2`);
      p(`${h}.mlp.c_fc.weight`, [d, f]);
      p(`${h}.mlp.c_fc.bias`, [f], 'zeros');
      p(`${h}.mlp.c_proj.weight`, [f, d]);
      p(`${h}.mlp.c_proj.bias`, [d], 'zeros');
    } else if (cfg.modelType === 'gpt_neo') {
      const a = `${h}.attn.attention`;
      for (const k of ['k_proj', 'v_proj', 'q_proj']) p(`${a}.${k}.weight`, [d, d]);
      p(`${a}.out_proj.weight`, [d, d]);
      p(`${a}.out_proj.bias`, [d], 'zeros');
      ln(`${h}.ln_2`);
      p(`${h}.mlp.c_fc.weight`, [f, d]);
      p(`${h}.mlp.c_fc.bias`, [f], 'zeros');
      p(`${h}.mlp.c_proj.weight`, [d, f]);
      p(`${h}.mlp.c_proj.bias`, [d], 'zeros');
    } else {
      for (const k of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) p(`${h}.attn.${k}.weight`, [d, d]);
      p(`${h}.mlp.fc_in.weight`, [f, d]);
      p(`${h}.mlp.fc_in.bias`, [f], 'zeros');
      p(`${h}.mlp.fc_out.weight`, [d, f]);
      p(`${h}.mlp.fc_out.bias`, [d], 'zeros');
    }
  }
  ln('transformer.ln_f');
  if (!cfg.tieWordEmbeddings || cfg.modelType === 'gptj') {
    p('lm_head.weight', [cfg.vocabSize, d]);
    if (cfg.modelType === 'gptj') p('lm_head.bias', [cfg.vocabSize], 'zeros');
  }
  return out;
}

/** Checkpoint keys that are buffers, not parameters (older GPT-2 files carry the causal mask). */
export function isIgnorableBuffer(key: string): boolean {
  return /\.attn\.(bias|masked_bias)$/.test(key) || /\.attn\.attention\.(bias|masked_bias)$/.test(key);
}
