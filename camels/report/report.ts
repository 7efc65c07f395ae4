// A self-contained HTML report of a run (no server, no scripts): the evaluation table, loss curves
// as inline SVG, and per-token weights of sample documents as colour maps under each weighting.

import fs from 'node:fs';
import type { EvalSummary } from '../metrics.js';

export interface ReportRow {
  weighting: string;
  lr: number;
  documents: number;
  questions: number;
  /** null: the adaptation diverged (shown as such). */
  final: (EvalSummary & { emStandard: number }) | null;
}

export interface ReportInput {
  title: string;
  runDir: string;
  table: ReportRow[];
  init: (EvalSummary & { emStandard: number }) | null;
  metrics: Record<string, unknown>[];
  /** Documents as token pieces, with one weight per token for each weighting. */
  samples: { tokens: string[]; weights: Record<string, number[]> }[];
  notes: string[];
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1) : '–');

function tableHtml(input: ReportInput): string {
  const rows = input.table.map(
    (r) =>
      `<tr><td>${escapeHtml(r.weighting)}</td><td>${r.lr}</td><td>${r.documents}</td><td>${r.questions}</td>` +
      (r.final ? `<td>${pct(r.final.em)}</td><td>${pct(r.final.emStandard)}</td><td>${pct(r.final.maxF1.mean)}</td></tr>` : `<td colspan="3">diverged</td></tr>`),
  );
  if (input.init) {
    const i = input.init;
    rows.unshift(`<tr class="init"><td>before adaptation</td><td>–</td><td>–</td><td>${i.count}</td><td>${pct(i.em)}</td><td>${pct(i.emStandard)}</td><td>${pct(i.maxF1.mean)}</td></tr>`);
  }
  return `<table id="results"><thead><tr><th>weighting</th><th>lr</th><th>documents</th><th>questions</th><th>EM (reference prefix, %)</th><th>EM (standard, %)</th><th>F1 (%)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** A line chart of `y` against index for each named series. */
function svgChart(title: string, series: Record<string, number[]>): string {
  const W = 520;
  const H = 200;
  const pad = 36;
  const all = Object.values(series).flat().filter(Number.isFinite);
  if (all.length < 2) return '';
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
  const lines = Object.entries(series).map(([name, ys], k) => {
    const pts = ys
      .map((y, i) => `${(pad + (i / Math.max(1, ys.length - 1)) * (W - 2 * pad)).toFixed(1)},${(H - pad - ((y - lo) / Math.max(1e-12, hi - lo)) * (H - 2 * pad)).toFixed(1)}`)
      .join(' ');
    return `<polyline fill="none" stroke="${colours[k % colours.length]}" stroke-width="1.5" points="${pts}"/><text x="${W - pad}" y="${14 + 14 * k}" text-anchor="end" fill="${colours[k % colours.length]}" font-size="11">${escapeHtml(name)}</text>`;
  });
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img"><rect x="0" y="0" width="${W}" height="${H}" fill="#fff" stroke="#ccc"/><text x="4" y="${pad}" font-size="10">${hi.toPrecision(3)}</text><text x="4" y="${H - pad}" font-size="10">${lo.toPrecision(3)}</text>${lines.join('')}</svg></figure>`;
}

function curves(metrics: Record<string, unknown>[]): string {
  const byKind = new Map<string, Record<string, number[]>>();
  for (const m of metrics) {
    const kind = String(m.kind ?? '');
    for (const key of ['loss', 'total_loss', 'qa_loss', 'nll', 'max_f1']) {
      const v = m[key];
      if (typeof v !== 'number') continue;
      const s = byKind.get(kind) ?? {};
      (s[key] ??= []).push(v);
      byKind.set(kind, s);
    }
  }
  return [...byKind.entries()].map(([kind, s]) => svgChart(kind, s)).join('');
}

/** Colour for a weight relative to the document's maximum (white → blue). */
function colour(w: number, max: number): string {
  const a = max > 0 ? Math.max(0, Math.min(1, w / max)) : 0;
  return `rgba(31, 119, 180, ${(0.08 + 0.85 * a).toFixed(3)})`;
}

function samplesHtml(samples: ReportInput['samples']): string {
  return samples
    .map((s, i) => {
      const blocks = Object.entries(s.weights).map(([name, ws]) => {
        const max = Math.max(...ws, 0);
        const spans = s.tokens.map((t, j) => `<span class="tok" style="background:${colour(ws[j] ?? 0, max)}" title="${escapeHtml(name)}: ${(ws[j] ?? 0).toPrecision(3)}">${escapeHtml(t)}</span>`);
        return `<div class="weights"><div class="method">${escapeHtml(name)} (max ${max.toPrecision(3)})</div><p>${spans.join('')}</p></div>`;
      });
      return `<section class="sample"><h3>Document ${i + 1}</h3>${blocks.join('')}</section>`;
    })
    .join('');
}

export function renderReport(input: ReportInput): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
tr.init{color:#666}.tok{white-space:pre-wrap;border-radius:2px}.method{font-weight:600;margin-top:.6em}
figure{display:inline-block;margin:.5em}figcaption{font-size:12px;color:#555}.sample p{line-height:1.8;font-family:ui-monospace,monospace;font-size:13px}
</style></head><body>
<h1>${escapeHtml(input.title)}</h1>
<p>${input.notes.map(escapeHtml).join(' · ')}<br>run directory: <code>${escapeHtml(input.runDir)}</code></p>
<h2>Evaluation</h2>${tableHtml(input)}
<h2>Training curves</h2>${curves(input.metrics) || '<p>(no curves)</p>'}
<h2>Per-token weights</h2><p>Darker = larger weight, relative to the document's maximum under that weighting.</p>${samplesHtml(input.samples)}
</body></html>
`;
}

export function writeReport(file: string, input: ReportInput): string {
  fs.writeFileSync(file, renderReport(input));
  return file;
}
