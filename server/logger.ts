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
