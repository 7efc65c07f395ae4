// `camels-gpu bench default`: the embedded default experiment's two hot workloads, timed exactly as
// the default runs them (camels/tasks/lm-pretrain.ts, meta-train.ts, meta-objective.ts with the
// FULL_SCALE of camels/tasks/default-experiment.ts). The workloads, token ids and padded lengths are
// those of the shared PyTorch peer (../shared/peers/torch-cpu/camels-default.mjs and bench.py), so
// the two sides time the same work:
//
//   default_pretrain_step  GPT-J (2 layers, d=64, 4 heads, rotary 16, vocab 768, 128 positions,
//                          dropout 0.05) on 8 packed rows of 128: loss, grad, AdamW (wd 0.01,
//                          global-norm clip 1.0)
//   default_meta_batch     weight model (GPT-2 body 1 layer d=32, dropout 0.1, MLP head 32) on 4
//                          documents [4,128] -> 4 sequential 2nd-order SGD steps (lr 0.1) -> QA loss
//                          [4,48] + 0.1 KL on a [1,128] passage -> grad/2 to the weight model
//
// Each prints one line: the median of `repeat` timed runs after `warmup` untimed ones; --json
// prints {"work": ..., "ms": ...} per workload and nothing else; --profile adds per-kernel times and
// the share of time spent outside kernels (bench/op-profile.ts).

import * as E from '../engine/index.js';
import type { Backend, DType, Tensor } from '../engine/index.js';
import { parseHfConfig } from '../models/hf-config.js';
import { initModel } from '../models/pretrained.js';
import type { Params } from '../models/gpt.js';
import { padBatch, qaBatch, batchToDevice } from '../camels/batch.js';
import { qaLoss } from '../camels/losses.js';
import { metaObjective } from '../camels/meta-objective.js';
import { newWeightModel, tokenWeights } from '../camels/weight-model.js';
import { formatProfile, profileBackend } from './op-profile.js';

const V = 768;
const T = 128;
const QA_T = 48;
const DOC_LENS = [118, 128, 104, 125];
const LOC_LEN = 128;
const Q_LENS = [14, 18, 12, 16];
const A_LENS = [5, 4, 6, 5];

/** The peer's xorshift token ids (same seeds, same values). */
function rngIds(n: number, vocab: number, seed: number): number[] {
  let x = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out.push(x % vocab);
  }
  return out;
}

const baseRaw = {
  model_type: 'gptj', architectures: ['GPTJForCausalLM'], vocab_size: V, n_positions: T, n_embd: 64, n_layer: 2, n_head: 4, rotary_dim: 16,
  resid_pdrop: 0.05, embd_pdrop: 0.05, attn_pdrop: 0, bos_token_id: 0, eos_token_id: 0, activation_function: 'gelu_new', tie_word_embeddings: false,
};
const bodyRaw = {
  model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: V, n_positions: T, n_embd: 32, n_layer: 1, n_head: 2,
  resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1, bos_token_id: 0, eos_token_id: 0, tie_word_embeddings: true,
};

/** When set, the timed runs are profiled per kernel and the profile printed after each workload. */
let profiling: { work: string } | null = null;

async function median(backend: Backend, fn: () => Promise<void>, warmup: number, repeat: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  await backend.sync();
  const prof = profiling ? profileBackend(backend) : null;
  const ts: number[] = [];
  try {
    for (let r = 0; r < repeat; r++) {
      const t = performance.now();
      await fn();
      await backend.sync();
      ts.push(performance.now() - t);
    }
  } finally {
    prof?.stop();
  }
  if (prof) {
    console.log(`# ${profiling!.work}: kernel time over ${repeat} runs (wrapped calls add a little time of their own)`);
    for (const l of formatProfile(prof, ts.reduce((a, b) => a + b, 0))) console.log(l);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)]!;
}

/** One pre-training step as lm-pretrain.ts runs it, repeated; returns the median ms. */
async function pretrainStep(backend: Backend, dtype: DType, warmup: number, repeat: number): Promise<number> {
  const device = backend.name;
  const model = initModel(parseHfConfig(baseRaw, 'bench default'), baseRaw, { seed: 1, device, dtype });
  const params = Object.values(model.params);
  const opt = new E.Adam(params, { lr: 3e-3, maxGradNorm: 1.0, weightDecay: 0.01 });
  const batch = padBatch(Array.from({ length: 8 }, (_, i) => rngIds(T, V, 100 + i)), T, 0);
  let step = 0;
  try {
    return await median(
      backend,
      () =>
        E.tidyAsync(async () => {
          const l = qaLoss(model.config, model.params, batchToDevice(batch, model.dtype, model.device), { training: true, dropoutSeed: 2 * 1000003 + step++ });
          opt.step(E.grad(l, params));
        }),
      warmup,
      repeat,
    );
  } finally {
    opt.dispose();
    for (const t of params) t.dispose();
  }
}

/** One meta-training batch as meta-train.ts runs it (half of an outer step), repeated. */
async function metaBatch(backend: Backend, dtype: DType, warmup: number, repeat: number): Promise<number> {
  const device = backend.name;
  const base = initModel(parseHfConfig(baseRaw, 'bench default'), baseRaw, { seed: 4, device, dtype });
  for (const t of Object.values(base.params)) t.requiresGrad = true; // as default-experiment.ts
  const bodyLm = initModel(parseHfConfig(bodyRaw, 'bench default body'), bodyRaw, { seed: 5, device, dtype });
  const bodyParams: Params = {};
  for (const [k, t] of Object.entries(bodyLm.params)) if (k.startsWith('transformer.')) bodyParams[k] = t;
  const wm = newWeightModel(bodyLm.config, bodyRaw, bodyParams, 32, 3);
  const phi: Tensor[] = Object.values(wm.params);
  const docs = padBatch(DOC_LENS.map((L, i) => rngIds(L, V, 11 + i)), T, 0);
  const loc = padBatch([rngIds(LOC_LEN, V, 21)], T, 0);
  const qa = qaBatch(Q_LENS.map((q, i) => ({ question: rngIds(q, V, 31 + i), answer: rngIds(A_LENS[i]!, V, 41 + i) })), QA_T, 0);
  let step = 0;
  try {
    return await median(
      backend,
      () =>
        E.tidyAsync(async () => {
          const mb = { docs: batchToDevice(docs, dtype, device), qa: batchToDevice(qa, dtype, device), loc: batchToDevice(loc, dtype, device) };
          const stepSeed = step++;
          const w = tokenWeights(wm, wm.params, mb.docs.ids, mb.docs.mask, { training: true, dropoutSeed: stepSeed ^ 0x2545f491 });
          const res = metaObjective(base.config, base.params, mb, w, {
            lr: 0.1, steps: 1, sequential: true, createGraph: true, training: true, dropoutSeed: stepSeed, cKl: 0.1, preLogitsTraining: false,
          });
          E.grad(E.mulScalar(res.total, 1 / 2), phi);
        }),
      warmup,
      repeat,
    );
  } finally {
    for (const t of [...Object.values(base.params), ...Object.values(bodyLm.params), ...phi]) t.dispose();
  }
}

export interface DefaultBenchOptions {
  json: boolean;
  /** Timed runs per workload (median); default 15 and 9 as the peer. */
  repeat?: number;
  warmup?: number;
  only?: 'pretrain' | 'meta';
  /** Print per-kernel times and the share of time outside kernels (not with json). */
  profile?: boolean;
}

export async function benchDefault(backend: Backend, opts: DefaultBenchOptions): Promise<void> {
  const dtype: DType = 'float32';
  const print = (work: string, ms: number): void => {
    if (opts.json) console.log(`{"work": ${JSON.stringify(work)}, "ms": ${Number(ms.toFixed(3))}}`);
    else console.log(`${work.padEnd(38)} ${ms.toFixed(1).padStart(9)} ms`);
  };
  const profile = Boolean(opts.profile) && !opts.json;
  if (opts.only !== 'meta') {
    profiling = profile ? { work: 'default_pretrain_step' } : null;
    print('default_pretrain_step gptj [8,128]', await pretrainStep(backend, dtype, opts.warmup ?? 3, opts.repeat ?? 15));
  }
  if (opts.only !== 'pretrain') {
    profiling = profile ? { work: 'default_meta_batch' } : null;
    print('default_meta_batch gptj [4,128]', await metaBatch(backend, dtype, opts.warmup ?? 2, opts.repeat ?? 9));
  }
  profiling = null;
}
