/**
 * Where the server reports what happens. rxwire never writes to the console;
 * pass your own logger (pino, winston and `console` itself all fit this shape).
 */
export interface Logger {
  debug(message: string, context?: Record<string, unknown>): void;
  info(message: string, context?: Record<string, unknown>): void;
  warn(message: string, context?: Record<string, unknown>): void;
  error(message: string, context?: Record<string, unknown>): void;
}

const noop = (): void => undefined;

/** A logger that discards everything (the default). */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Fills the levels a partial logger leaves out with no-ops, once. */
export function toLogger(logger: Partial<Logger> | undefined): Logger {
  if (!logger) return silentLogger;
  const bind = (level: keyof Logger): Logger[keyof Logger] =>
    typeof logger[level] === 'function' ? logger[level].bind(logger) : noop;
  return { debug: bind('debug'), info: bind('info'), warn: bind('warn'), error: bind('error') };
}

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
