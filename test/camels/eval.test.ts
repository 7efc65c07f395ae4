// Online-adaptation evaluation writes the reference's CSV rows and a summary; the HTML report renders
// in headless Chromium with the tokens and the table.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVAL_DEFAULTS, type EvalConfig } from '../../camels/config.js';
import { syntheticQaExamples } from '../../camels/data/synthetic.js';
import { renderReport } from '../../camels/report/report.js';
import { RunDir } from '../../camels/runs/run-dir.js';
import { evaluateOnline } from '../../camels/tasks/online-eval.js';
import { uniformWeighting } from '../../camels/weighting/weighters.js';
import { smallData, tempDir, tinyModel, tokenizer } from './helpers.js';

describe('online-adaptation eval', () => {
  it('adapts on the stream and writes final_em.csv rows plus the summary rows', async () => {
    const tok = tokenizer();
    const { test } = smallData(11);
    const stream = { documents: test.map((d) => d.text), questions: syntheticQaExamples(test) };
    const dir = tempDir('camels-eval-');
    const cfg: EvalConfig = { ...EVAL_DEFAULTS, max_text_len: 160, max_question_len: 40, max_answer_len: 12, num_beams: 4, num_beam_groups: 2, max_new_tokens: 4, eval_init: true };
    const r = await evaluateOnline({ run: new RunDir(dir), tokenizer: tok, loadBase: () => tinyModel(8), weighting: uniformWeighting(), stream, device: 'cpu', dtype: 'float32' }, cfg, 1e-3);
    const lines = fs.readFileSync(path.join(dir, 'final_em.csv'), 'utf8').trimEnd().split('\r\n');
    expect(lines.length).toBe(stream.questions.length + 3);
    expect(lines[0]!.startsWith(`${stream.questions[0]!.question},${stream.questions[0]!.answer},[`)).toBe(true);
    expect(lines.at(-3)!.startsWith('EM,')).toBe(true);
    expect(lines.at(-2)!.startsWith('avg_f1,')).toBe(true);
    expect(lines.at(-1)!.startsWith('max_f1,')).toBe(true);
    expect(fs.existsSync(path.join(dir, 'init_em.csv'))).toBe(true);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    expect(summary.questions).toBe(stream.questions.length);
    expect(summary.final.count).toBe(stream.questions.length);
    expect(r.init).not.toBeNull();
  });
});

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

describe('HTML report', () => {
  it.skipIf(!chromium && process.env.CI !== 'true')('renders in headless Chromium with the tokens and the table', () => {
    if (!chromium) throw new Error('Chromium is required in CI (apt-get install chromium)');
    const summary = { count: 10, emCorrect: 3, em: 0.3, emStandard: 0.2, avgF1: { mean: 0.41, std: 0.1 }, maxF1: { mean: 0.45, std: 0.1 } };
    const html = renderReport({
      title: 'test report',
      runDir: '/tmp/x',
      table: [{ weighting: 'CaMeLS', lr: 0.001, documents: 4, questions: 10, final: summary }],
      init: { ...summary, em: 0.1 },
      metrics: [1, 2, 3].map((i) => ({ kind: 'pre-train', loss: 5 - i })),
      samples: [{ tokens: ['Mira', ' Kessel', ' founded', ' <b>'], weights: { uniform: [1, 1, 1, 1], CaMeLS: [0.9, 0.8, 0.1, 0.2] } }],
      notes: ['note'],
    });
    const dir = tempDir('camels-report-');
    const file = path.join(dir, 'report.html');
    fs.writeFileSync(file, html);
    const dom = execFileSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${path.join(dir, 'profile')}`, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
    expect(dom).toContain('<table id="results">');
    expect(dom).toContain('CaMeLS');
    expect(dom).toContain('45.0');
    expect(dom).toContain(' Kessel');
    expect(dom).toContain('&lt;b&gt;');
    expect(dom).toContain('<svg');
  });
});
