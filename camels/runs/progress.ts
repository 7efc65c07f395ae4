// Progress bars for long loops: count, rate and ETA on stderr (redrawn in place on a TTY, one line
// every few seconds otherwise, so CI logs stay readable).

export class Progress {
  private done = 0;
  private readonly start = Date.now();
  private lastPrint = 0;
  private extra = '';

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = process.env.CAMELS_QUIET === '1',
  ) {}

  tick(n = 1, extra?: string): void {
    this.done += n;
    if (extra !== undefined) this.extra = extra;
    const now = Date.now();
    const tty = this.stream.isTTY;
    if (this.done < this.total && now - this.lastPrint < (tty ? 200 : 5000)) return;
    this.lastPrint = now;
    this.render(this.done >= this.total);
  }

  note(extra: string): void {
    this.extra = extra;
  }

  private render(final: boolean): void {
    if (this.quiet) return;
    const secs = (Date.now() - this.start) / 1000;
    const rate = this.done / Math.max(secs, 1e-9);
    const eta = rate > 0 && this.total > 0 ? (this.total - this.done) / rate : 0;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const width = 24;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const line = `${this.label} [${bar}] ${this.done}/${this.total} ${rate >= 1 ? rate.toFixed(1) + '/s' : (1 / Math.max(rate, 1e-9)).toFixed(1) + 's/it'} ETA ${fmt(eta)} ${this.extra}`;
    if (this.stream.isTTY) this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1).padEnd(Math.min(this.stream.columns ?? 120, 160) - 1)}${final ? '\n' : ''}`);
    else this.stream.write(line + '\n');
  }

  finish(extra?: string): void {
    if (extra !== undefined) this.extra = extra;
    this.done = Math.max(this.done, this.total);
    this.render(true);
  }
}

export function fmt(secs: number): string {
  if (!Number.isFinite(secs)) return '?';
  const s = Math.round(secs);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
