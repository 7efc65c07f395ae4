// The reference's own invocations with its own files, through the CLI: `base_model=distilgpt2`
// resolved from a Hugging Face cache laid out as Python leaves it (offline; here "distilgpt2" holds
// the tiny fixture model), `base_model_state_dict=best_nll.pt` (train_qa.py's torch.save state
// dict), `load_checkpoint_path=` / `weight_model_path=` run.py's weight-model .pt (its body config
// from pretrained_model, distilgpt2 by default as in the reference). Runs record device.json.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateSyntheticDataset, syntheticQaExamples } from '../../camels/data/synthetic.js';
import { writePythonStyleCache } from './fake-hub.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'camels-gpu.mjs');
const TINY = path.join(ROOT, 'test', 'fixtures', 'golden', 'tiny-gpt2');
const PT = path.join(ROOT, 'test', 'fixtures', 'torch-pt');
const csvCell = (s: string) => `"${s.replace(/"/g, '""')}"`;

function writeStreamingQa(dir: string): void {
  const ds = generateSyntheticDataset({ seed: 5, qaPretrain: 4, metaTrain: 4, validation: 2, test: 2, distractors: 1 });
  const write = (name: string, docs: typeof ds.test) => {
    const rows = syntheticQaExamples(docs).map((r) => [r.document, r.question, r.answer].map(csvCell).join(','));
    fs.writeFileSync(path.join(dir, name), ['text,question,answers', ...rows].join('\n') + '\n');
  };
  write('train.csv', ds.metaTrain);
  write('val.csv', ds.validation);
  write('test.csv', ds.test);
  fs.writeFileSync(path.join(dir, 'owt.csv'), ['raw_text', ...ds.qaPretrain.map((d) => csvCell(d.text))].join('\n') + '\n');
}

describe('the reference\'s checkpoints and model names in the tasks', () => {
  it('meta-train and eval with base_model=distilgpt2 (cache), best_nll.pt and run.py\'s weight model .pt', () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'camels-hfcache-'));
    writePythonStyleCache(cache, 'distilgpt2', 'c'.repeat(40), TINY, ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors']);
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'camels-refpt-'));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'camels-refpt-out-'));
    writeStreamingQa(data);
    const env = { ...process.env, CAMELS_QUIET: '1', HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' };
    const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env });
    const common = ['dataset=streamingqa', `data_dir=${data}`, `outputs=${out}`, 'max_text_len=48', 'max_question_len=32', 'max_answer_len=8', '--device', 'cpu',
      'base_model=distilgpt2', `base_model_state_dict=${path.join(PT, 'tiny-gpt2.state_dict.pt')}`];

    const meta = cli(['meta-train', 'weight_model=CaMeLS', ...common, 'pretrained_model=distilgpt2', `load_checkpoint_path=${path.join(PT, 'weight_model.ckpt.pt')}`,
      `web_text_csv=${path.join(data, 'owt.csv')}`, `web_text_val_csv=${path.join(data, 'owt.csv')}`,
      'update_batch_size=2', 'reset_base_freq=2', 'grad_acc_steps=1', 'max_outer_steps=1', 'val_steps=1', 'val_batches=1']);
    expect(meta.status, meta.stderr).toBe(0);
    expect(meta.stderr).toMatch(/^device: cpu/m);
    const metaRun = path.join(out, 'train', 'streamingqa', fs.readdirSync(path.join(out, 'train', 'streamingqa'))[0]!);
    expect(JSON.parse(fs.readFileSync(path.join(metaRun, 'device.json'), 'utf8'))).toMatchObject({ backend: 'cpu' });
    expect(fs.readFileSync(path.join(metaRun, 'log.txt'), 'utf8').match(/device: cpu/g)?.length).toBe(1);
    expect(fs.existsSync(path.join(metaRun, 'checkpoints', 'best.safetensors'))).toBe(true);

    const ev = cli(['eval', 'weight_model=CaMeLS', `weight_model_path=${path.join(PT, 'weight_model.ckpt.pt')}`, ...common, 'num_beams=2', 'num_beam_groups=1', 'diversity_penalty=0', 'max_new_tokens=3', 'downsample_to=2']);
    expect(ev.status, ev.stderr).toBe(0);
    expect(ev.stdout).toContain('| lr | EM (ref.) | EM (std.) | F1 | adapt s |');

    // the same eval with a checkpoint that names a Python global is refused before anything runs
    const bad = cli(['eval', 'weight_model=CaMeLS', `weight_model_path=${path.join(PT, 'malicious.pt')}`, ...common, 'downsample_to=2']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/refusing global 'posix\.system'/);
  }, 600_000);
});
