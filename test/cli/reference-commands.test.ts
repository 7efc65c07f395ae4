// The reference's commands on real-format data through the CLI: StreamingQA CSVs written here, the
// tiny-gpt2 fixture as the base model. qa-train saves best checkpoints as HF dirs; meta-train (a
// configured run) writes a weight model; eval runs uniform / ssm / tfidf / CaMeLS, an lr sweep, and
// writes the reference's CSV rows.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TINY, cli, writeStreamingQa } from './run-fixtures.js';

describe('reference-style commands on StreamingQA CSVs', () => {
  it('qa-train, meta-train and eval (all weightings, an lr sweep) end to end', () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'camels-sqa-'));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'camels-out-'));
    writeStreamingQa(data);
    const common = ['dataset=streamingqa', `data_dir=${data}`, `outputs=${out}`, 'max_text_len=64', 'max_question_len=40', 'max_answer_len=12', '--device', 'cpu'];

    const qa = cli(['qa-train', `base_model=${TINY}`, ...common, 'train_steps=4', 'val_steps=2', 'lt_batch_size=4', 'grad_acc_steps=1', 'stop_k=2', 'val_generate=4']);
    expect(qa.code, qa.err).toBe(0);
    const qaRun = path.join(out, 'qa_pretraining', 'streamingqa', fs.readdirSync(path.join(out, 'qa_pretraining', 'streamingqa'))[0]!);
    const bestNll = path.join(qaRun, 'checkpoints', 'best_nll');
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(fs.existsSync(path.join(bestNll, f)), f).toBe(true);

    const meta = cli([
      'meta-train',
      'weight_model=CaMeLS',
      `base_model=${TINY}`,
      `base_model_state_dict=${bestNll}`,
      ...common,
      `web_text_csv=${path.join(data, '8k.csv')}`,
      `web_text_val_csv=${path.join(data, '2k.csv')}`,
      'update_batch_size=2',
      'reset_base_freq=4',
      'grad_acc_steps=1',
      'max_outer_steps=2',
      'val_steps=1',
      'val_batches=1',
      'weight_model_hidden=8',
      'weight_model.normalize=true', // the reference's weight-model option, recorded with the checkpoint
    ]);
    expect(meta.code, meta.err).toBe(0);
    const metaRun = path.join(out, 'train', 'streamingqa', fs.readdirSync(path.join(out, 'train', 'streamingqa'))[0]!);
    const wm = path.join(metaRun, 'checkpoints', 'best.safetensors');
    expect(fs.existsSync(wm)).toBe(true);
    expect(JSON.parse(fs.readFileSync(wm.replace(/\.safetensors$/, '.config.json'), 'utf8')).camels_normalize).toBe(true);
    expect(fs.readFileSync(path.join(metaRun, 'report.html'), 'utf8')).toContain('CaMeLS');

    for (const [weighting, extra] of [
      ['uniform', ['lr=1e-3,1e-4']],
      ['ssm', []],
      ['tfidf', ['min_threshold=0.05']],
      ['CaMeLS', [`weight_model_path=${wm}`]],
    ] as const) {
      const r = cli(['eval', `weight_model=${weighting}`, `base_model=${bestNll}`, ...common, 'num_beams=4', 'num_beam_groups=2', 'max_new_tokens=4', 'downsample_to=2', ...extra]);
      expect(r.code, `${weighting}: ${r.err}`).toBe(0);
      expect(r.out).toContain('| lr | EM (ref.) | EM (std.) | F1 | adapt s |');
    }
    const evalRoot = path.join(out, 'eval', 'streamingqa');
    const runs = fs.readdirSync(evalRoot).map((d) => path.join(evalRoot, d));
    const sweep = runs.find((d) => fs.existsSync(path.join(d, 'lr0.001-final_em.csv')))!;
    expect(fs.existsSync(path.join(sweep, 'lr0.0001-final_em.csv'))).toBe(true);
    const rows = fs.readFileSync(path.join(sweep, 'lr0.001-final_em.csv'), 'utf8').trimEnd().split('\r\n');
    expect(rows.length).toBe(2 + 3); // downsample_to=2 rows → 2 questions, then EM / avg_f1 / max_f1
    expect(rows[2]!.startsWith('EM,')).toBe(true);
    for (const d of runs) expect(fs.readFileSync(path.join(d, 'report.html'), 'utf8')).toContain('<table id="results">');
  }, 600_000);
});
