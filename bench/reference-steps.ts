// `camels-gpu bench reference`: the reference's two CaMeLS workloads at its default sizes, on random
// weights, with time, peak device memory and the device-independent counts (bench/counters.ts):
//
//   reference_outer_step   one meta-training outer step as the reference runs it (spec 2): a
//                          DistilGPT-2 base model and a DistilGPT-2-bodied weight model (fc1 768→128,
//                          fc2 128→1), 6 documents × 1024 tokens weighted by the weight model, 6
//                          sequential SGD steps (inner lr 5e-4, create-graph, dropout on), the QA loss
//                          on 6 × 128 with the adapted weights plus 0.1 × KL on a 1 × 1024 locality
//                          passage, the gradient to the weight model and its Adam step (lr 1e-5).
//                          Anchor: 513 ms, 32.5 GiB (PyTorch eager fp32, H200).
//   reference_adapt_step   one online-adaptation step of GPT-2 XL (spec 3): the weight model (eval
//                          mode, no gradient) weights a 1024-token document, the weighted LM loss of
//                          GPT-2 XL (dropout on), its gradient, Adam (lr 2.5e-5, clip 750).
//                          Anchor: 319 ms per document, 30.2 GiB (H200).
//
// These are GPU workloads (GPT-2 XL has 1.56 B parameters). `--quick` runs the same code on small
// configs (2 layers, width 64, vocab 1024, 64 tokens), so the path is checked on any device.

import * as E from '../engine/index.js';
import type { Backend, Tensor } from '../engine/index.js';
import { batchToDevice, padBatch, qaBatch } from '../camels/batch.js';
import { weightedLmLoss } from '../camels/losses.js';
import { metaObjective } from '../camels/meta-objective.js';
import { newWeightModel, tokenWeights, type CamelsWeightModel } from '../camels/weight-model.js';
import { HostRng } from '../engine/random.js';
import type { Params } from '../models/gpt.js';
import { parseHfConfig } from '../models/hf-config.js';
import { disposeModel, initModel, type CausalLM } from '../models/pretrained.js';
import { StepCounter } from './counters.js';
import { printRecord, type BenchRecord } from './timing.js';

const GPT2 = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1 };
const FULL = {
  distilgpt2: { ...GPT2, n_layer: 6, n_embd: 768, n_head: 12 },
  'gpt2-xl': { ...GPT2, n_layer: 48, n_embd: 1600, n_head: 25 },
  docs: 6,
  docLen: 1024,
  qaLen: 128,
  locLen: 1024,
  head: 128,
};
const TINY = { ...GPT2, vocab_size: 1024, n_positions: 64, n_layer: 2, n_embd: 64, n_head: 4 };
const QUICK = { distilgpt2: TINY, 'gpt2-xl': { ...TINY, n_layer: 3 }, docs: 3, docLen: 64, qaLen: 24, locLen: 64, head: 16 };
type Sizes = typeof FULL | typeof QUICK;

export interface ReferenceBenchOptions {
  json: boolean;
  repeat: number;
  warmup: number;
  only?: 'outer' | 'adapt';
  quick?: boolean;
}

function randomIds(rng: HostRng, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => Math.floor(rng.uniform() * vocab));
}

function model(backend: Backend, raw: Record<string, unknown>, seed: number, label: string): CausalLM {
  return initModel(parseHfConfig(raw, `bench reference: ${label}`), raw, { seed, device: backend.name });
}

/** The reference's CaMeLS weight model: a DistilGPT-2 body (its transformer.* weights) and the MLP head. */
function weightModel(backend: Backend, sizes: Sizes, seed: number): { body: CausalLM; wm: CamelsWeightModel } {
  const body = model(backend, sizes.distilgpt2, seed, 'weight model body');
  const bodyParams: Params = {};
  for (const [k, t] of Object.entries(body.params)) if (k.startsWith('transformer.')) bodyParams[k] = t;
  return { body, wm: newWeightModel(body.config, sizes.distilgpt2, bodyParams, sizes.head, seed + 1) };
}

interface MemoryStats {
  peakBytes: number;
  peakLiveBytes: number;
}

/**
 * Run `step` warmup times, then `repeat` timed times (each followed by a sync); the counts are those
 * of the first timed run, the peak memory over all timed runs.
 */
async function measure(backend: Backend, repeat: number, warmup: number, step: () => Promise<void>): Promise<Record<string, unknown>> {
  for (let i = 0; i < warmup; i++) await step();
  await backend.sync();
  const mem = backend as Backend & { memoryStats?: () => MemoryStats; resetPeak?: () => void };
  mem.resetPeak?.();
  const counter = new StepCounter(backend);
  let counts: Record<string, unknown> = {};
  const ts: number[] = [];
  try {
    for (let r = 0; r < repeat; r++) {
      if (r === 0) counter.reset();
      const t = performance.now();
      await step();
      await backend.sync();
      ts.push(performance.now() - t);
      if (r === 0) counts = { ...counter.read(), counted_step: warmup >= 1 ? 'warm' : 'first' };
    }
  } finally {
    counter.detach();
  }
  ts.sort((a, b) => a - b);
  const after = mem.memoryStats?.();
  return {
    ms: ts[Math.floor(ts.length / 2)]!,
    ...(after ? { peak_gib: after.peakBytes / 2 ** 30, peak_live_gib: after.peakLiveBytes / 2 ** 30 } : {}),
    ...counts,
  };
}

async function outerStep(backend: Backend, sizes: Sizes, opts: ReferenceBenchOptions): Promise<Record<string, unknown>> {
  const device = backend.name;
  const rng = new HostRng(7);
  const base = model(backend, sizes.distilgpt2, 1, 'base model');
  for (const t of Object.values(base.params)) t.requiresGrad = true;
  const { body, wm } = weightModel(backend, sizes, 2);
  const phi: Tensor[] = Object.values(wm.params);
  const opt = new E.Adam(phi, { lr: 1e-5 });
  const V = base.config.vocabSize;
  const docs = padBatch(Array.from({ length: sizes.docs }, () => randomIds(rng, sizes.docLen, V)), sizes.docLen, 0);
  const loc = padBatch([randomIds(rng, sizes.locLen, V)], sizes.locLen, 0);
  const qLen = Math.floor(sizes.qaLen * 0.75);
  const qa = qaBatch(Array.from({ length: sizes.docs }, () => ({ question: randomIds(rng, qLen, V), answer: randomIds(rng, sizes.qaLen - qLen, V) })), sizes.qaLen, 0);
  let seed = 0;
  try {
    return await measure(backend, opts.repeat, opts.warmup, () =>
      E.tidyAsync(async () => {
        const s = seed++;
        const mb = { docs: batchToDevice(docs, 'float32', device), qa: batchToDevice(qa, 'float32', device), loc: batchToDevice(loc, 'float32', device) };
        const w = tokenWeights(wm, wm.params, mb.docs.ids, mb.docs.mask, { training: true, dropoutSeed: s ^ 0x2545f491 });
        const res = metaObjective(base.config, base.params, mb, w, {
          lr: 5e-4, steps: 1, sequential: true, createGraph: true, training: true, dropoutSeed: s, cKl: 0.1, preLogitsTraining: false,
        });
        opt.step(E.grad(res.total, phi));
      }),
    );
  } finally {
    opt.dispose();
    disposeModel(base);
    for (const k of ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']) wm.params[k]!.dispose();
    disposeModel(body);
  }
}

async function adaptStep(backend: Backend, sizes: Sizes, opts: ReferenceBenchOptions): Promise<Record<string, unknown>> {
  const device = backend.name;
  const rng = new HostRng(8);
  const lm = model(backend, sizes['gpt2-xl'], 3, 'GPT-2 XL');
  const params = Object.values(lm.params);
  for (const t of params) t.requiresGrad = true;
  const { body, wm } = weightModel(backend, sizes, 4);
  const opt = new E.Adam(params, { lr: 2.5e-5, maxGradNorm: 750 });
  const doc = padBatch([randomIds(rng, sizes.docLen, lm.config.vocabSize)], sizes.docLen, 0);
  let seed = 0;
  try {
    return await measure(backend, opts.repeat, opts.warmup, () =>
      E.tidyAsync(async () => {
        const batch = batchToDevice(doc, 'float32', device);
        const w = E.noGrad(() => tokenWeights(wm, wm.params, batch.ids, batch.mask, { training: false }));
        const l = weightedLmLoss(lm.config, lm.params, batch, w, { training: true, dropoutSeed: seed++ });
        opt.step(E.grad(l, params));
      }),
    );
  } finally {
    opt.dispose();
    disposeModel(lm);
    for (const k of ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']) wm.params[k]!.dispose();
    disposeModel(body);
  }
}

export async function benchReference(backend: Backend, opts: ReferenceBenchOptions): Promise<BenchRecord[]> {
  const sizes: Sizes = opts.quick ? QUICK : FULL;
  const family = (backend as Backend & { kernelFamily?: string }).kernelFamily;
  const base = { backend: backend.name, adapter: backend.adapterName, ...(family ? { kernel_family: family } : {}), ...(opts.quick ? { quick: 1 } : {}) };
  const out: BenchRecord[] = [];
  const emit = (r: BenchRecord) => {
    out.push(r);
    printRecord(r, opts.json);
  };
  if (opts.only !== 'adapt') {
    const r = await outerStep(backend, sizes, opts);
    emit({ op: 'reference_outer_step', shape: [sizes.docs, sizes.docLen], ...base, config: 'distilgpt2', ms: r.ms as number, ...r, inner_steps: sizes.docs, qa: [sizes.docs, sizes.qaLen], loc: [1, sizes.locLen], anchor_ms: 513, anchor_peak_gib: 32.5 });
  }
  if (opts.only !== 'outer') {
    const r = await adaptStep(backend, sizes, opts);
    emit({ op: 'reference_adapt_step', shape: [1, sizes.docLen], ...base, config: 'gpt2-xl', ms: r.ms as number, ...r, anchor_ms: 319, anchor_peak_gib: 30.2 });
  }
  return out;
}
