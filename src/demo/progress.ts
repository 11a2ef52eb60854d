/**
 * A small progress bar for long work in a terminal (a line rewritten in place on a TTY, a line
 * per 10% otherwise, e.g. in CI logs).
 *
 * @packageDocumentation
 */

/** Where progress lines go. */
export interface ProgressSink {
  write(text: string): void;
  isTTY?: boolean;
}

/**
 * Reports `done/total` of a labelled task.
 *
 * @example
 * ```ts
 * const bar = new ProgressBar('reports', 200, process.stderr);
 * bar.update(50); // reports [#####               ]  50/200
 * bar.done();
 * ```
 */
export class ProgressBar {
  private lastDecile = -1;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly sink: ProgressSink,
    private readonly width = 24,
  ) {}

  /** Shows progress `done` (and an optional suffix such as a loss). */
  update(done: number, suffix = ''): void {
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(frac * this.width);
    const secs = ((Date.now() - this.started) / 1000).toFixed(0);
    const line = `${this.label.padEnd(28)} [${'#'.repeat(filled)}${' '.repeat(this.width - filled)}] ${String(done).padStart(String(this.total).length)}/${this.total} ${secs}s ${suffix}`;
    if (this.sink.isTTY) {
      this.sink.write(`\r${line.padEnd(100)}`);
      return;
    }
    const decile = Math.floor(frac * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.sink.write(`${line}\n`);
    }
  }

  /** Ends the bar (a newline on a TTY). */
  done(suffix = ''): void {
    this.update(this.total, suffix);
    if (this.sink.isTTY) this.sink.write('\n');
  }
}
