// Errors and warnings raised while loading datasets. Every message names the file (and, where it
// helps, the line, column or position) so that a bad path or a malformed file is found at once.

/** A dataset could not be read: missing file, missing column, empty file, malformed CSV/JSON, bad value. */
export class DataError extends Error {
  /** The file the problem is in, when there is one. */
  readonly file: string | undefined;
  constructor(message: string, file?: string) {
    super(message);
    this.name = 'DataError';
    this.file = file;
  }
}

/** What loaders do with a row whose required field is empty (or an answer list with no usable answer). */
export type EmptyRowPolicy = 'skip' | 'error';

/** Options every loader accepts. */
export interface LoadOptions {
  /**
   * 'skip' (default): drop the row, count it, and report the count once through `onWarning`.
   * 'error': throw a DataError naming the file, line and column.
   *
   * The reference (pandas) reads an empty cell as NaN and then crashes on `.split`/`[0]`, so it has
   * no policy of its own; skipping is our choice.
   */
  emptyRows?: EmptyRowPolicy;
  /** Receives the one summary warning per file. Default: `console.warn`. */
  onWarning?: (message: string) => void;
}

/** Skipped rows of one load, with the file lines (1-based) or record indices they came from. */
export interface SkipReport {
  count: number;
  /** For CSV: the line where each skipped record starts; for JSON: the record index. At most 20 kept. */
  where: number[];
}

/** Collects skipped rows while a file is read; `finish` emits the one summary warning. */
export class SkipCounter {
  private readonly report: SkipReport = { count: 0, where: [] };
  constructor(
    private readonly file: string,
    private readonly options: LoadOptions,
    private readonly unit: 'line' | 'record',
  ) {}

  /** Record an empty row: throws under the 'error' policy, else counts it. */
  skip(where: number, reason: string): void {
    if ((this.options.emptyRows ?? 'skip') === 'error') {
      throw new DataError(`${this.file}: ${this.unit} ${where}: ${reason}`, this.file);
    }
    this.report.count += 1;
    if (this.report.where.length < 20) this.report.where.push(where);
  }

  finish(): SkipReport {
    if (this.report.count > 0) {
      const shown = this.report.where.join(', ') + (this.report.count > this.report.where.length ? ', ...' : '');
      const message =
        `${this.file}: skipped ${this.report.count} row(s) with an empty required field ` +
        `(${this.unit}s ${shown})`;
      (this.options.onWarning ?? ((m: string) => console.warn(m)))(message);
    }
    return { count: this.report.count, where: [...this.report.where] };
  }
}
