// Choosing a method's adaptation learning rate on validation documents: evaluate a starting grid,
// and while the best learning rate is at an edge of the points tried, add the next point beyond that
// edge (a constant factor away), so the choice ends as an interior point of the evaluated grid (or
// the extension budget runs out, which the result says). The criterion is validation answer NLL
// (lower is better); F1 is recorded alongside for the report's plots.

export interface LrPoint {
  lr: number;
  /** Mean answer NLL on the validation questions after adaptation (the criterion). */
  nll: number;
  /** Mean F1 on the validation questions after adaptation. */
  f1: number;
}

export interface LrSearchResult {
  best: number;
  /** Every evaluated point, sorted by lr. */
  points: LrPoint[];
  /** Whether the best lr has an evaluated neighbour on both sides. */
  interior: boolean;
}

export interface LrSearchOptions {
  grid: readonly number[];
  /** Ratio between a new point and the edge it extends (e.g. √10). */
  factor: number;
  /** Extensions allowed beyond the starting grid. */
  maxExtensions: number;
}

/** Snap to the lattice factor^k (k integer) and 3 significant digits, so extensions read cleanly (3.16e-3 · √10 → 0.01). */
const tidy = (x: number, factor: number) => Number((factor ** Math.round(Math.log(x) / Math.log(factor))).toPrecision(3));

export async function searchLearningRate(evalAt: (lr: number) => Promise<LrPoint>, opts: LrSearchOptions): Promise<LrSearchResult> {
  if (opts.grid.length === 0) throw new Error('lr search: empty grid');
  if (!(opts.factor > 1)) throw new Error(`lr search: factor must be > 1, got ${opts.factor}`);
  const points: LrPoint[] = [];
  for (const lr of [...opts.grid].sort((a, b) => a - b)) points.push(await evalAt(lr));
  // NaN (a diverged run) never wins over a finite NLL.
  const bestIndex = () => points.reduce((bi, p, i) => (Number.isFinite(p.nll) && (!Number.isFinite(points[bi]!.nll) || p.nll < points[bi]!.nll) ? i : bi), 0);
  for (let ext = 0; ext < opts.maxExtensions && points.length > 0; ext++) {
    const b = bestIndex();
    if (b > 0 && b < points.length - 1) break;
    if (points.length === 1) {
      // one point: extend downwards first, then upwards on the next round
      points.unshift(await evalAt(tidy(points[0]!.lr / opts.factor, opts.factor)));
      continue;
    }
    if (b === 0) points.unshift(await evalAt(tidy(points[0]!.lr / opts.factor, opts.factor)));
    else points.push(await evalAt(tidy(points[points.length - 1]!.lr * opts.factor, opts.factor)));
  }
  const b = bestIndex();
  return { best: points[b]!.lr, points, interior: b > 0 && b < points.length - 1 };
}
