// Event-loop lag: how late a timer that should fire every `intervalMs` fires.
// Everything the agent does runs on one event loop, VRRP adverts included, so
// this is how late an advert can go out. Measured by a timer of our own rather
// than prom-client's default p99 gauge, which resets on every scrape (two
// scrapers would each see half): a cumulative histogram is what
// histogram_quantile() over rate() wants.
export class LagMonitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly observe: (seconds: number) => void,
    private readonly intervalMs = 10,
    private readonly now: () => bigint = () => process.hrtime.bigint(),
  ) {}

  start(): void {
    if (this.timer) return;
    const arm = (): void => {
      const due = this.now() + BigInt(this.intervalMs) * 1_000_000n;
      this.timer = setTimeout(() => {
        const late = this.now() - due;
        this.observe(late > 0n ? Number(late) / 1e9 : 0);
        if (this.timer) arm();
      }, this.intervalMs);
      this.timer.unref();
    };
    arm();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
