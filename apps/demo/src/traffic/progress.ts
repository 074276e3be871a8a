/** Progress on stderr: one updating line on a terminal, a line every 10% otherwise. */
export class Progress {
  private total = 0;
  private lastDecile = 0;
  private lastDraw = 0;
  private readonly tty = process.stderr.isTTY === true;
  private readonly done: number[];

  constructor(
    private readonly labels: readonly string[],
    private readonly perTarget: number,
  ) {
    this.done = labels.map(() => 0);
    if (this.tty) this.draw();
  }

  tick(target: number): void {
    this.done[target]!++;
    this.total++;
    const all = this.perTarget * this.labels.length;
    if (this.tty) {
      const now = performance.now();
      if (now - this.lastDraw >= 50 || this.total === all) this.draw();
      return;
    }
    const decile = Math.floor((this.total * 10) / all);
    if (decile > this.lastDecile) {
      this.lastDecile = decile;
      process.stderr.write(`progress: ${String(decile * 10).padStart(3)}% (${this.counts()})\n`);
    }
  }

  finish(): void {
    if (this.tty) process.stderr.write('\n');
  }

  private counts(): string {
    return this.labels.map((label, i) => `${label} ${this.done[i]}/${this.perTarget}`).join(', ');
  }

  private draw(): void {
    this.lastDraw = performance.now();
    const width = 30;
    const ratio = this.total / (this.perTarget * this.labels.length);
    const filled = Math.round(ratio * width);
    process.stderr.write(
      `\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%  ${this.counts()}`,
    );
  }
}
