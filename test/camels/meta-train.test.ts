// Meta-training: the meta-gradient of a step matches finite differences on a tiny model (float64,
// two sequential inner steps, QA + KL outer loss); a short meta-training run lowers the validation
// loss and writes resumable checkpoints.

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { padBatch, qaBatch, batchToDevice } from '../../camels/batch.js';
import { TRAIN_DEFAULTS, type TrainConfig } from '../../camels/config.js';
import { metaObjective } from '../../camels/meta-objective.js';
import { RunDir } from '../../camels/runs/run-dir.js';
import { metaTrain } from '../../camels/tasks/meta-train.js';
import { tokenizeDocument, tokenizeQa } from '../../camels/tasks/tokenize.js';
import { newWeightModel } from '../../camels/weight-model.js';
import { disposeModel } from '../../models/pretrained.js';
import { E, smallData, tempDir, tinyModel, tokenizer } from './helpers.js';

describe('meta-gradient', () => {
  it('d(QA + c·KL after 2 sequential SGD steps)/dw matches central differences', async () => {
    const tok = tokenizer();
    const { train } = smallData();
    const m = tinyModel(5, 'float64');
    const rows = train.slice(0, 2);
    const T = 40;
    const docs = padBatch(rows.map((r) => tokenizeDocument(tok, r.document, T).ids), T, 0);
    const qa = qaBatch(rows.map((r) => tokenizeQa(tok, r, 32, 12)), 32, 0);
    const loc = padBatch([tokenizeDocument(tok, rows[1]!.document, T).ids], T, 0);
    const w0 = Array.from({ length: 2 * T }, (_, i) => (docs.mask[i] ? 0.3 + ((i * 37) % 11) / 10 : 0));
    const lossAt = async (w: number[], withGrad: boolean) =>
      E.tidyAsync(async () => {
        const wt = E.tensor(w, [2, T], { dtype: 'float64', requiresGrad: true });
        const batch = { docs: batchToDevice(docs, 'float64', 'cpu'), qa: batchToDevice(qa, 'float64', 'cpu'), loc: batchToDevice(loc, 'float64', 'cpu') };
        const r = metaObjective(m.config, m.params, batch, wt, { lr: 0.5, createGraph: withGrad, cKl: 0.1 });
        const v = await r.total.item();
        return { v, g: withGrad ? Array.from(await E.grad(r.total, [wt])[0]!.data()) : [] };
      });
    const { g } = await lossAt(w0, true);
    const eps = 1e-6;
    let checked = 0;
    for (const i of [1, 5, 12, T + 2, T + 9]) {
      if (!docs.mask[i]) continue;
      const p = await lossAt(w0.map((x, j) => (j === i ? x + eps : x)), false);
      const q = await lossAt(w0.map((x, j) => (j === i ? x - eps : x)), false);
      const fd = (p.v - q.v) / (2 * eps);
      expect(Math.abs(fd - g[i]!), `w[${i}]: fd ${fd} vs grad ${g[i]}`).toBeLessThan(1e-7 + 1e-6 * Math.abs(fd));
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(4);
    expect(g.some((x) => Math.abs(x) > 1e-8)).toBe(true);
    disposeModel(m);
  });
});

describe('short meta-training', () => {
  it('lowers the validation loss and writes best/last checkpoints and a resume state', async () => {
    const tok = tokenizer();
    const { train, val } = smallData(7);
    const base = tinyModel(6);
    const body = tinyModel(6);
    const bodyParams = Object.fromEntries(Object.entries(body.params).filter(([k]) => k.startsWith('transformer.')));
    const wm = newWeightModel(body.config, body.rawConfig, bodyParams, 8, 2);
    const dir = tempDir('camels-meta-');
    const cfg: TrainConfig = {
      ...TRAIN_DEFAULTS,
      max_text_len: 96,
      max_question_len: 40,
      max_answer_len: 12,
      update_batch_size: 2,
      reset_base_freq: 4,
      grad_acc_steps: 1,
      val_steps: 4,
      max_outer_steps: 12,
      n_epochs: 100,
      outer_lr: 3e-2,
      inner_lr: 1.0,
      c_kl: 0.1,
      val_batches: 2,
    };
    const r = await metaTrain({ run: new RunDir(dir), tokenizer: tok, base, wm, data: { train, val, loc: [train[0]!.document], locVal: [val[0]!.document] }, device: 'cpu', dtype: 'float32' }, cfg);
    const vals = new RunDir(dir).readMetrics().filter((m) => m.kind === 'val').map((m) => m.total_loss as number);
    expect(vals.length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...vals.slice(1))).toBeLessThan(vals[0]!);
    expect(r.outerSteps).toBe(12);
    expect(fs.existsSync(r.bestCheckpoint)).toBe(true);
    expect(fs.existsSync(r.lastCheckpoint)).toBe(true);
    const latest = new RunDir(dir).checkpoints.latest()!;
    const state = JSON.parse(fs.readFileSync(`${latest}/state.json`, 'utf8'));
    expect(state.outerStep).toBe(12);
    disposeModel(base);
    for (const t of Object.values(wm.params)) t.dispose();
  });
});
