// The HTML report of the embedded default (self-contained, no scripts): the multi-seed table and
// paired intervals, validation answer NLL and F1 against the adaptation learning rate per method
// (one chart per seed, log x axis), meta-validation loss, and per-token weights of test documents
// under every method as colour maps with answer spans underlined (solid) and distractor values
// underlined (dotted), so a reader sees whether a weighting found the answers.

import fs from 'node:fs';
import type { DefaultResults, MethodSummary } from '../tasks/default/aggregate.js';
import { METHODS, type SeedResult, type WeightSample } from '../tasks/default/seed-run.js';
import { escapeHtml } from './report.js';

export interface DefaultReportInput {
  runDir: string;
  results: DefaultResults;
  seeds: SeedResult[];
  /** The printed table (markdown), shown verbatim. */
  table: string;
}

const COLOURS: Record<string, string> = { uniform: '#7f7f7f', ssm: '#2ca02c', tfidf: '#ff7f0e', CaMeLS: '#1f77b4' };

/** Series of (x, y) points on one chart; `logX` plots log10(x). */
export function svgXY(title: string, series: Record<string, [number, number][]>, opts: { logX?: boolean; xLabel?: string; yLabel?: string } = {}): string {
  const W = 440;
  const H = 220;
  const pad = 40;
  const fx = (x: number) => (opts.logX ? Math.log10(x) : x);
  const pts = Object.values(series).flat().filter(([x, y]) => Number.isFinite(fx(x)) && Number.isFinite(y));
  if (pts.length === 0) return '';
  const xs = pts.map(([x]) => fx(x));
  const ys = pts.map(([, y]) => y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const X = (x: number) => pad + ((fx(x) - x0) / Math.max(1e-12, x1 - x0)) * (W - 2 * pad);
  const Y = (y: number) => H - pad - ((y - y0) / Math.max(1e-12, y1 - y0)) * (H - 2 * pad);
  const body = Object.entries(series).map(([name, s], k) => {
    const c = COLOURS[name] ?? '#9467bd';
    const ok = s.filter(([x, y]) => Number.isFinite(fx(x)) && Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
    const line = ok.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
    const dots = ok.map(([x, y]) => `<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="2.5" fill="${c}"><title>${escapeHtml(name)}: lr ${x}, ${y.toPrecision(4)}</title></circle>`).join('');
    return `<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${line}"/>${dots}<text x="${W - 4}" y="${14 + 13 * k}" text-anchor="end" fill="${c}" font-size="11">${escapeHtml(name)}</text>`;
  });
  const xTicks = [...new Set(pts.map(([x]) => x))].sort((a, b) => a - b).map((x) => `<text x="${X(x).toFixed(1)}" y="${H - pad + 14}" font-size="9" text-anchor="middle">${x.toPrecision(2)}</text>`);
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img"><rect x="0" y="0" width="${W}" height="${H}" fill="#fff" stroke="#ccc"/><text x="2" y="${pad}" font-size="10">${y1.toPrecision(3)}</text><text x="2" y="${H - pad}" font-size="10">${y0.toPrecision(3)}</text>${xTicks.join('')}<text x="${W / 2}" y="${H - 6}" font-size="10" text-anchor="middle">${escapeHtml(opts.xLabel ?? '')}</text><text x="2" y="14" font-size="10">${escapeHtml(opts.yLabel ?? '')}</text>${body.join('')}</svg></figure>`;
}

function lrCharts(r: DefaultResults): string {
  return r.seeds
    .map((seed) => {
      const key = String(seed);
      const rows: [string, MethodSummary][] = [...METHODS.map((m) => [m, r.methods[m]] as [string, MethodSummary]), ...(r.oracle ? [['oracle (reference)', r.oracle] as [string, MethodSummary]] : [])];
      const nll = Object.fromEntries(rows.map(([m, s]) => [m, s.lr_curve[key]!.map((p) => [p.lr, p.nll] as [number, number])]));
      const f1 = Object.fromEntries(rows.map(([m, s]) => [m, s.lr_curve[key]!.map((p) => [p.lr, 100 * p.f1] as [number, number])]));
      return `<div>${svgXY(`seed ${seed}: validation answer NLL against lr (chosen = lowest)`, nll, { logX: true, xLabel: 'adaptation lr', yLabel: 'answer NLL' })}${svgXY(`seed ${seed}: validation F1 (%) against lr`, f1, { logX: true, xLabel: 'adaptation lr', yLabel: 'F1 %' })}</div>`;
    })
    .join('');
}

function metaCharts(r: DefaultResults): string {
  const series = Object.fromEntries(Object.entries(r.meta_validation).map(([seed, h]) => [`seed ${seed}`, h.map((p) => [p.step + 1, p.val] as [number, number])]));
  return svgXY('meta-validation loss (QA loss after the inner loop + c_kl·KL) against outer step + 1', series, { xLabel: 'outer step + 1', yLabel: 'loss' });
}

function colour(w: number, max: number): string {
  const a = max > 0 ? Math.max(0, Math.min(1, w / max)) : 0;
  return `rgba(31, 119, 180, ${(0.06 + 0.87 * a).toFixed(3)})`;
}

function sampleHtml(s: WeightSample, i: number): string {
  const blocks = Object.entries(s.weights).map(([name, ws]) => {
    const max = Math.max(...ws.slice(1), 0); // token 0 is never predicted; its weight has no effect
    const spans = s.tokens.map((t, j) => {
      const cls = s.answer[j] ? 'ans' : s.distractor[j] ? 'dis' : '';
      return `<span class="tok ${cls}" style="background:${colour(ws[j] ?? 0, max)}" title="${escapeHtml(name)}: ${(ws[j] ?? 0).toPrecision(3)}">${escapeHtml(t)}</span>`;
    });
    return `<div class="method">${escapeHtml(name)} (max ${max.toPrecision(3)})</div><p>${spans.join('')}</p>`;
  });
  return `<section class="sample"><h3>Test document ${i + 1}</h3>${blocks.join('')}</section>`;
}

export function renderDefaultReport(input: DefaultReportInput): string {
  const r = input.results;
  const samples = input.seeds[0]?.samples ?? [];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>camels-gpu default experiment</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:12px}
.tok{white-space:pre-wrap;border-radius:2px}.tok.ans{text-decoration:underline 2px #c00}.tok.dis{text-decoration:underline dotted 2px #555}
.method{font-weight:600;margin-top:.6em}figure{display:inline-block;margin:.4em}figcaption{font-size:12px;color:#555}
.sample p{line-height:1.9;font-family:ui-monospace,monospace;font-size:13px}
</style></head><body>
<h1>camels-gpu default experiment</h1>
<p>seeds ${r.seeds.join(', ')} · device ${escapeHtml(r.device)} · ${r.seconds.toFixed(0)} s<br>run directory: <code>${escapeHtml(input.runDir)}</code></p>
<h2>Results</h2><pre id="results">${escapeHtml(input.table)}</pre>
<h2>Learning rates (validation documents)</h2>${lrCharts(r)}
<h2>Meta-training</h2>${metaCharts(r)}
<h2>Per-token weights</h2><p>Test documents of the first seed. Darker = larger weight, relative to the document's maximum under that weighting. <span style="text-decoration:underline 2px #c00">Solid red underline</span>: answer spans; <span style="text-decoration:underline dotted 2px #555">dotted underline</span>: values of distractor facts (no question asks about them).</p>${samples.map(sampleHtml).join('')}
</body></html>
`;
}

export function writeDefaultReport(file: string, input: DefaultReportInput): string {
  fs.writeFileSync(file, renderDefaultReport(input));
  return file;
}
