/**
 * Where rxwire reports what happens. rxwire never writes to the console;
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
