// Language-model pre-training of a small base model from scratch (used by the embedded default):
// next-token loss on documents mixed with QA sequences (question ' answer<eos>'), so the model both
// stores facts from text and learns to retrieve them in the QA format. Adam with warm-up and linear
// decay, dropout on, progress with loss.

import * as E from '../../engine/index.js';
import type { CausalLM } from '../../models/pretrained.js';
import { padBatch, batchToDevice } from '../batch.js';
import { Prng } from '../data/rng.js';
import { Interrupted, pollInterrupt } from '../runs/interrupt.js';
import { Progress } from '../runs/progress.js';
import type { RunDir } from '../runs/run-dir.js';
import { qaLoss } from '../losses.js';
import { LateReads } from './late-reads.js';

export interface PretrainOptions {
  steps: number;
  batchSize: number;
  seqLen: number;
  lr: number;
  warmup: number;
  seed: number;
  padId: number;
  /**
   * Pack shuffled sequences, each followed by `packSeparator`, into rows of exactly seqLen tokens
   * (standard LM pre-training; no padding is computed). Otherwise each row is one sequence, padded.
   */
  packSeparator?: number;
  label?: string;
}

/** Train `model` in place on token sequences (each already ends where it should; padded per batch). */
export async function lmPretrain(model: CausalLM, sequences: number[][], run: RunDir, opts: PretrainOptions): Promise<number> {
  if (sequences.length === 0) throw new Error('lm-pretrain: no training sequences');
  const names = Object.keys(model.params);
  const params = names.map((n) => model.params[n]!);
  const opt = new E.Adam(params, { lr: opts.lr, maxGradNorm: 1.0, weightDecay: 0.01 });
  const rng = new Prng(opts.seed);
  let order = rng.permutation(sequences.length);
  let cursor = 0;
  let carry: number[] = []; // the rest of a packed sequence that did not fit its row
  const prog = new Progress(opts.label ?? 'pre-train', opts.steps);
  let last = NaN;
  const late = new LateReads(); // the loss of every 10th step, read one step late
  for (let step = 0; step < opts.steps; step++) {
    // Pre-training is a phase of the default experiment, which restarts an unfinished phase on resume.
    const sig = await pollInterrupt();
    if (sig) {
      await late.flush();
      throw new Interrupted(sig, run.dir, `camels-gpu meta-train --resume ${run.dir}`);
    }
    opt.lr = opts.lr * Math.min(1, (step + 1) / opts.warmup) * Math.max(0.1, 1 - step / opts.steps);
    const next = (): number[] => {
      if (cursor >= order.length) {
        order = rng.permutation(sequences.length);
        cursor = 0;
      }
      return sequences[order[cursor++]!]!;
    };
    const rows: number[][] = [];
    while (rows.length < opts.batchSize) {
      if (opts.packSeparator === undefined) {
        rows.push(next().slice(0, opts.seqLen));
        continue;
      }
      const row: number[] = carry.splice(0, opts.seqLen);
      while (row.length < opts.seqLen) {
        const s = [...next(), opts.packSeparator];
        const take = s.slice(0, opts.seqLen - row.length);
        row.push(...take);
        if (take.length < s.length) carry = s.slice(take.length);
      }
      rows.push(row);
    }
    const T = Math.max(...rows.map((r) => r.length));
    const batch = padBatch(rows, T, opts.padId);
    const { read } = E.tidy(() => {
      const l = qaLoss(model.config, model.params, batchToDevice(batch, model.dtype, model.device), { training: true, dropoutSeed: opts.seed * 1000003 + step });
      opt.step(E.grad(l, params));
      // started now, awaited after the next step is recorded
      return { read: step % 10 === 0 || step === opts.steps - 1 ? E.readLater([l]) : null };
    });
    prog.tick(1);
    await late.push(read, ([loss]) => {
      if (Number.isNaN(loss!)) return;
      last = loss!;
      run.metric({ kind: `${opts.label ?? 'pretrain'}`, step, loss });
      prog.note(`loss ${loss!.toFixed(3)}`);
    });
  }
  await late.flush();
  opt.dispose();
  prog.finish();
  return last;
}
