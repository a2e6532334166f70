'use client';
import { ErrorCode, RxwireTypeError } from '../protocol/index.js';

/**
 * Turns many changes into few renders. `changed()` flushes at once (a React
 * state update) when no window is open, then opens a window of `ms`: changes
 * inside it flush once when it ends, which opens the next. The last change is
 * always flushed (trailing edge), so nothing is held back. With `ms` 0 every
 * change flushes, and React batches the updates of one task into one render:
 * a synchronous burst of any size is one render, never a nested update.
 */
export class RenderThrottle {
  private due = false;
  private window: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly ms: number,
    private readonly flush: () => void,
  ) {}

  /** Something changed: flush now, or when the open window ends. */
  changed(): void {
    if (this.stopped) return;
    if (this.window !== undefined) {
      this.due = true;
      return;
    }
    this.flush();
    this.open();
  }

  /** No more flushes; with `flush`, one last one now if a change is waiting for it. */
  stop(flush = false): void {
    if (flush && this.due && !this.stopped) this.flush();
    this.stopped = true;
    this.due = false;
    if (this.window !== undefined) clearTimeout(this.window);
    this.window = undefined;
  }

  private open(): void {
    if (this.ms <= 0) return;
    this.window = setTimeout(() => {
      this.window = undefined;
      if (!this.due || this.stopped) return;
      this.due = false;
      this.flush();
      this.open();
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
