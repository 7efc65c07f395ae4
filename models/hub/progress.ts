// A download progress bar on stderr: redrawn in place (at most ~8 times a second) on a terminal,
// a start and an end line otherwise (logs stay readable). HF_HUB_DISABLE_PROGRESS_BARS silences it.

const mb = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} MB`;

export class DownloadProgress {
  private last = 0;
  private readonly started = Date.now();
  private readonly tty: boolean;
  private readonly quiet: boolean;

  constructor(private readonly label: string, private readonly total: number, private done: number, private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(out.isTTY);
    this.quiet = ['1', 'true', 'yes', 'on'].includes((process.env.HF_HUB_DISABLE_PROGRESS_BARS ?? '').trim().toLowerCase());
    if (!this.quiet && !this.tty) out.write(`downloading ${label} (${mb(total)}${done > 0 ? `, resuming at ${mb(done)}` : ''})\n`);
    this.draw(true);
  }

  add(n: number): void {
    this.done += n;
    this.draw(false);
  }

  private draw(force: boolean): void {
    if (this.quiet || !this.tty) return;
    const now = Date.now();
    if (!force && now - this.last < 120) return;
    this.last = now;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 0;
    const width = 24;
    const fill = Math.round(frac * width);
    const secs = Math.max(0.001, (now - this.started) / 1000);
    this.out.write(`\r${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(100 * frac).toFixed(0).padStart(3)}% ${mb(this.done)}/${mb(this.total)} ${mb(this.done / secs)}/s `);
  }

  finish(): void {
    if (this.quiet) return;
    if (this.tty) {
      this.draw(true);
      this.out.write('\n');
    } else this.out.write(`downloaded ${this.label} (${mb(this.done)} in ${((Date.now() - this.started) / 1000).toFixed(1)} s)\n`);
  }
}
