'use client';
import { ErrorCode, RxwireTypeError } from '../protocol/index.js';

/**
 * Turns many changes into few renders: `changed()` asks for a `flush`, which
 * runs once the current burst of synchronous changes is over (a microtask
 * later), then at most once per `ms` while changes keep coming. The last
 * change is always flushed (trailing edge), so nothing is held back, and a
 * burst of any size costs one render: React never sees nested updates.
 */
export class RenderThrottle {
  private due = false;
  private window: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly ms: number,
    private readonly flush: () => void,
  ) {}

  /** Something changed: flush soon. */
  changed(): void {
    if (this.due || this.stopped) return;
    this.due = true;
    // Inside a window, its end flushes; otherwise after the current burst.
    if (this.window === undefined) queueMicrotask(() => this.run());
  }

  /** No more flushes; with `flush`, one last one now if a change is waiting for it. */
  stop(flush = false): void {
    if (flush) this.run();
    this.stopped = true;
    this.due = false;
    if (this.window !== undefined) clearTimeout(this.window);
    this.window = undefined;
  }

  private run(): void {
    if (!this.due || this.stopped) return;
    this.due = false;
    this.flush();
    if (this.ms <= 0) return;
    if (this.window !== undefined) clearTimeout(this.window);
    this.window = setTimeout(() => {
      this.window = undefined;
      this.run();
    }, this.ms);
  }
}

/** Checks a `throttleMs` option: a number >= 0. */
export function throttleOption(hook: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new RxwireTypeError(
      ErrorCode.InvalidOption,
      `${hook}: 'throttleMs' must be a number >= 0 (got ${String(value)})`,
    );
  }
  return value;
}
