// A progress bar on stderr. On a TTY it redraws one line in place (at most ~10 times a second); on a
// pipe or file it prints a plain line every 10% so logs stay readable; with `quiet` it prints nothing.

export class Progress {
  private readonly tty: boolean;
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly start = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(done: number, extra = ''): void {
    if (this.quiet || this.total <= 0) return;
    const frac = Math.min(1, done / this.total);
    const now = Date.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 60));
      const filled = Math.round(frac * width);
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      const secs = ((now - this.start) / 1000).toFixed(1);
      this.stream.write(`\r${this.label} [${bar}] ${done}/${this.total} ${secs}s ${extra}\x1b[K`);
    } else {
      const decile = Math.floor(frac * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      this.stream.write(`${this.label}: ${done}/${this.total} (${decile * 10}%) ${extra}\n`);
    }
  }

  done(): void {
    if (!this.quiet && this.tty) this.stream.write('\n');
  }
}
