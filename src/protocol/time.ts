/**
 * ISO-8601 timestamps for the envelope, cheaply: the text up to the seconds is
 * formatted once per second and the milliseconds appended, so a busy
 * connection does not pay for `Date#toISOString` on every message.
 */
export class IsoClock {
  private second = NaN;
  private prefix = '';
  private lastMs = NaN;
  private last = '';

  /** `new Date(ms).toISOString()`, for `ms` since the epoch. */
  format(ms: number): string {
    if (ms === this.lastMs) return this.last;
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      const iso = new Date(second * 1000).toISOString(); // 2026-11-22T12:53:04.000Z
      this.prefix = iso.slice(0, 20);
    }
    const rest = ms - second * 1000;
    this.lastMs = ms;
    this.last = `${this.prefix}${rest < 10 ? '00' : rest < 100 ? '0' : ''}${rest}Z`;
    return this.last;
  }
}
