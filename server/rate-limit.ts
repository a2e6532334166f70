/**
 * A token bucket: `capacity` frames at once, refilled continuously at
 * `capacity` per `perMs`. Two numbers of state per connection, no timers.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty (the peer is over its rate). */
  take(): boolean {
    const t = this.now();
    if (t !== this.last) {
      this.tokens = Math.min(
        this.capacity,
        this.tokens + ((t - this.last) * this.capacity) / this.perMs,
      );
      this.last = t;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
