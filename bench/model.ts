// Model benchmarks on random weights: one training step (forward, backward, in-place SGD) and one
// CaMeLS meta step (one inner SGD step with createGraph on the weighted LM loss, the outer QA loss,
// the gradient to the per-token weights), with time, tokens/s and peak device memory.

import * as E from '../engine/index.js';
import type { Backend, Tensor } from '../engine/index.js';
import { batchToDevice, padBatch, qaBatch } from '../camels/batch.js';
import { qaLoss, weightedLmLoss } from '../camels/losses.js';
import { parseHfConfig } from '../models/hf-config.js';
import { disposeModel, initModel } from '../models/pretrained.js';
import { HostRng } from '../engine/random.js';
import { StepCounter, type StepCounts } from './counters.js';
import { printRecord, timeMedian, type BenchRecord } from './timing.js';

export const BENCH_CONFIGS: Record<string, Record<string, unknown>> = {
  gpt2: { model_type: 'gpt2', n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024 },
  distilgpt2: { model_type: 'gpt2', n_layer: 6, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024 },
  tiny: { model_type: 'gpt2', n_layer: 2, n_embd: 64, n_head: 4, vocab_size: 1024, n_positions: 160 },
  // The layers and heads of gpt2 / distilgpt2 at width 96 and vocab 1024: the same ops, so the same
  // kernel count per step, for taking the device-independent counts on a slow (software) adapter.
  // (Dispatches can differ where a full-size tensor is larger than one binding and goes in windows.)
  'gpt2-layers': { model_type: 'gpt2', n_layer: 12, n_embd: 96, n_head: 12, vocab_size: 1024, n_positions: 1024 },
  'distilgpt2-layers': { model_type: 'gpt2', n_layer: 6, n_embd: 96, n_head: 12, vocab_size: 1024, n_positions: 1024 },
};

interface MemoryStats {
  liveBytes: number;
  peakBytes: number;
  peakLiveBytes: number;
}

function memory(backend: Backend): (MemoryStats & { reset(): void }) | null {
  const b = backend as Backend & { memoryStats?: () => MemoryStats; resetPeak?: () => void };
  if (!b.memoryStats) return null;
  return { ...b.memoryStats(), reset: () => b.resetPeak?.() };
}

export interface ModelBenchOptions {
  config: string;
  batch: number;
  seq: number;
  json: boolean;
  repeat: number;
  warmup?: number;
  only?: 'train' | 'meta';
  /**
   * webgpu only: record the kernels without running them (engine/webgpu/runtime.ts countOnly), for
   * exact counts and peak memory at full size on a slow adapter; `ms` is then the host's recording
   * time per step.
   */
  countOnly?: boolean;
}

export async function benchModel(backend: Backend, opts: ModelBenchOptions): Promise<BenchRecord[]> {
  if (opts.countOnly) {
    const rt = (backend as Backend & { rt?: { countOnly: boolean } }).rt;
    if (backend.name !== 'webgpu' || !rt) throw new Error(`bench model: --count-only needs the webgpu backend (got ${backend.name})`);
    rt.countOnly = true;
  }
  try {
    return await benchModelSteps(backend, opts);
  } finally {
    const rt = (backend as Backend & { rt?: { countOnly: boolean } }).rt;
    if (rt) rt.countOnly = false;
  }
}

async function benchModelSteps(backend: Backend, opts: ModelBenchOptions): Promise<BenchRecord[]> {
  const raw = BENCH_CONFIGS[opts.config];
  if (!raw) throw new Error(`bench model: unknown --config '${opts.config}' (${Object.keys(BENCH_CONFIGS).join(', ')})`);
  const cfgRaw = { ...raw, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 };
  const cfg = parseHfConfig(cfgRaw, `bench:${opts.config}`);
  if (opts.seq > cfg.nPositions) throw new Error(`bench model: --seq ${opts.seq} exceeds ${cfg.nPositions} positions`);
  const device = backend.name;
  const model = initModel(cfg, cfgRaw, { seed: 1, device });
  const names = Object.keys(model.params);
  const params = names.map((n) => model.params[n]!);
  const rng = new HostRng(2);
  const B = opts.batch;
  const T = opts.seq;
  const seqs = Array.from({ length: B }, () => Array.from({ length: T }, () => Math.floor(rng.uniform() * cfg.vocabSize)));
  const docs = batchToDevice(padBatch(seqs, T, 0), 'float32', device);
  const family = (backend as Backend & { kernelFamily?: string }).kernelFamily;
  const base = { backend: device, adapter: backend.adapterName, ...(family ? { kernel_family: family } : {}), config: opts.config, ...(opts.countOnly ? { count_only: 1 } : {}) };
  const out: BenchRecord[] = [];
  const emit = (r: BenchRecord) => {
    out.push(r);
    printRecord(r, opts.json);
  };
  const repeat = opts.repeat;
  const warmup = opts.warmup ?? 1;
  const counter = new StepCounter(backend);
  /**
   * Run `step` warm-up times; the last warm-up run (a warm step when warmup ≥ 2, the first step
   * otherwise) is the counted one. Then time `repeat` more runs.
   */
  const measure = async (step: () => void): Promise<{ ms: number; counts: StepCounts & { counted_step: string } }> => {
    for (let i = 0; i < warmup - 1; i++) step();
    await backend.sync();
    counter.reset();
    step();
    await backend.sync();
    const counts = { ...counter.read(), counted_step: warmup >= 2 ? 'warm' : 'first' };
    const ms = await timeMedian(backend, step, { repeat, warmup: 0 });
    return { ms, counts };
  };

  if (opts.only !== 'meta') {
    const { ms: trainMs, counts } = await measure(() =>
      E.tidy(() => {
        const loss = qaLoss(cfg, model.params, docs);
        E.sgdStepInPlace(params, E.grad(loss, params), 1e-4);
      }),
    );
    emit({ op: 'train_step', shape: [B, T], ...base, ms: trainMs, tokens_per_s: (B * T) / (trainMs / 1000), ...counts });
  }

  // CaMeLS meta step: weights w [B, T] → one inner SGD step (createGraph) → outer QA loss → dL/dw
  if (opts.only === 'train') {
    for (const t of [docs.ids, docs.mask, docs.targets]) t.dispose();
    disposeModel(model);
    counter.detach();
    return out;
  }
  const qa = batchToDevice(qaBatch(Array.from({ length: B }, (_, i) => ({ question: seqs[i]!.slice(0, 24), answer: seqs[i]!.slice(24, 32) })), 32, 0), 'float32', device);
  const mem = memory(backend);
  mem?.reset();
  const { ms: metaMs, counts } = await measure(() =>
    E.tidy(() => {
      const w = E.ones([B, T], { device, requiresGrad: true });
      const inner = weightedLmLoss(cfg, model.params, docs, w);
      const gs = E.grad(inner, params, { createGraph: true });
      const upd = E.sgdStep(model.params, Object.fromEntries(names.map((n, i) => [n, gs[i]!])), 1e-3);
      const outer = qaLoss(cfg, upd, qa);
      E.grad(outer, [w]);
    }),
  );
  const after = memory(backend);
  emit({ op: 'camels_meta_step', shape: [B, T], ...base, ms: metaMs, ...(after ? { peak_gib: after.peakBytes / 2 ** 30, peak_live_gib: after.peakLiveBytes / 2 ** 30 } : {}), ...counts });
  for (const t of [docs.ids, docs.mask, docs.targets, qa.ids, qa.mask, qa.targets]) t.dispose();
  disposeModel(model);
  counter.detach();
  return out;
}
