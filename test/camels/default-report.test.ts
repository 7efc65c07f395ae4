// The default experiment's HTML report: the table verbatim, lr charts per seed, answer spans
// underlined and distractor values dotted in the colour maps.
import { describe, expect, it } from 'vitest';
import { renderDefaultReport, svgXY } from '../../camels/report/default-report.js';
import { aggregate } from '../../camels/tasks/default/aggregate.js';
import { METHODS, type Method, type MethodSeedResult, type SeedResult } from '../../camels/tasks/default/seed-run.js';

function seedResult(seed: number): SeedResult {
  const methods = {} as Record<Method, MethodSeedResult>;
  for (const m of METHODS) {
    methods[m] = {
      lr: 3.16e-3,
      lrSearch: { best: 3.16e-3, interior: true, points: [{ lr: 1e-3, nll: 2, f1: 0.1 }, { lr: 3.16e-3, nll: 1.5, f1: 0.2 }, { lr: 1e-2, nll: 1.8, f1: 0.15 }] },
      questions: [{ doc: 0, gold: 'Xo', prediction: 'Xo', f1: 1, emStd: 1, emRef: 1, nll: 1 }],
      selectivity: { answerWeightShare: 0.2, answerVsDistractorWeight: 1, answerTokenShare: 0.2 },
      adaptSeconds: 1,
    };
  }
  const samples = [{ tokens: ['A', ' was', ' born', ' in', ' Xo', '.', ' Bo', ' <b>'], answer: [false, false, false, false, true, false, false, false], distractor: [false, false, false, false, false, false, true, false], weights: { uniform: [1, 1, 1, 1, 1, 1, 1, 1], CaMeLS: [0, 0.1, 0.1, 0.1, 0.9, 0.1, 0.5, 0.1] } }];
  return { seed, documents: 1, questions: 1, tokens: { min: 8, max: 8, context: 16 }, before: [{ doc: 0, gold: 'Xo', prediction: '', f1: 0, emStd: 0, emRef: 0, nll: 3 }], methods, meta: { steps: 2, bestVal: 1, valHistory: [{ step: 0, val: 2 }, { step: 2, val: 1 }] }, phaseSeconds: {}, samples, seconds: 1 };
}

describe('default experiment report', () => {
  const seeds = [seedResult(0), seedResult(1)];
  const html = renderDefaultReport({ runDir: '/tmp/x', results: aggregate(seeds, { device: 'cpu', seconds: 2 }), seeds, table: '| a | <b> |' });

  it('shows the table verbatim (escaped), an NLL and an F1 chart per seed, and the meta-validation curve', () => {
    expect(html).toContain('<pre id="results">| a | &lt;b&gt; |</pre>');
    expect(html).toContain('seed 0: validation answer NLL against lr');
    expect(html).toContain('seed 1: validation F1 (%) against lr');
    expect(html).toContain('meta-validation loss');
    expect(html.match(/<figure>/g)).toHaveLength(5);
  });

  it('underlines answer tokens and marks distractor values in every colour map', () => {
    expect(html.match(/class="tok ans"/g)).toHaveLength(2); // ' Xo' under uniform and CaMeLS
    expect(html.match(/class="tok dis"/g)).toHaveLength(2);
    expect(html).toContain('&lt;b&gt;');
    expect(html).not.toContain(' <b></span>');
  });

  it('plots points on a log axis and skips non-finite ones', () => {
    const svg = svgXY('t', { CaMeLS: [[1e-3, 1], [1e-2, 2], [1e-1, NaN]] }, { logX: true });
    expect(svg.match(/<circle/g)).toHaveLength(2);
    expect(svgXY('t', { a: [[1, NaN]] })).toBe('');
  });
});
