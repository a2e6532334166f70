import type { Logger } from '../src/protocol/index.js';

export { toLogger, silentLogger, type Logger } from '../src/protocol/index.js';

/**
 * Logs the first few events of one kind for one connection and only counts the
 * rest, so a peer that floods garbage cannot flood the logs. `flush()` writes
 * one summary line at close.
 */
export class LimitedLog {
  private count = 0;

  constructor(
    private readonly logger: Logger,
    private readonly context: Record<string, unknown>,
    /** Plural noun for the summary, e.g. 'bad frames'. */
    private readonly what: string,
    private readonly limit = 3,
  ) {}

  report(message: string, extra?: Record<string, unknown>): void {
    this.count += 1;
    if (this.count > this.limit) return;
    this.logger.warn(message, { ...this.context, ...extra });
    if (this.count === this.limit) {
      this.logger.warn(`further ${this.what} on this connection are counted, not logged`, {
        ...this.context,
      });
    }
  }

  /** Writes the total when some went unlogged. Call once, at close. */
  flush(): void {
    if (this.count > this.limit) {
      this.logger.warn(`${this.count} ${this.what} on this connection in total`, {
        ...this.context,
      });
    }
  }
}

/**
 * Logs the first event of a kind at once and then at most one line per
 * interval: events within an interval are counted and summed up in one line
 * when it ends (and the next interval starts), so a flood of refused
 * connections writes one line every `intervalMs`, not one per connection.
 * A quiet interval ends the series; the next event is logged at once again.
 */
export class IntervalLog {
  private suppressed = 0;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private context: Record<string, unknown> = {};

  constructor(
    private readonly logger: Logger,
    /** What happened, e.g. 'refused a connection over maxConnections'. */
    private readonly message: string,
    /** Plural noun for the summary, e.g. 'connections refused over maxConnections'. */
    private readonly what: string,
    private readonly intervalMs = 10_000,
  ) {}

  report(context: Record<string, unknown>): void {
    if (this.timer !== undefined) {
      this.suppressed += 1;
      this.context = context;
      return;
    }
    this.logger.warn(this.message, context);
    this.startInterval();
  }

  /** Writes the count still pending, if any, and stops the timer. Call once, at close. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.summarize();
  }

  private startInterval(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.summarize()) this.startInterval();
    }, this.intervalMs);
    this.timer.unref?.();
  }

  /** Logs the events counted in the interval that ended; false when there were none. */
  private summarize(): boolean {
    const count = this.suppressed;
    if (count === 0) return false;
    this.suppressed = 0;
    this.logger.warn(`${count} more ${this.what} since the last report`, {
      ...this.context,
      count,
    });
    return true;
  }
}
