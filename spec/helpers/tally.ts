// What the long runs (chaos, fuzz, soak) share: a receiver's account of one
// numbered stream, and a pacer that sends at a steady rate.

/** What one receiver saw of one numbered stream. */
export class Tally {
  next = 0;
  lost = 0;
  repeated = 0;
  received = 0;

  take(n: number): void {
    if (n === this.next) {
      this.next++;
      this.received++;
    } else if (n < this.next) {
      this.repeated++;
    } else {
      this.lost += n - this.next; // a gap: everything between is missing
      this.next = n + 1;
      this.received++;
    }
  }
}

/** Calls `send(k)` every 10 ms with how many messages are due to keep `rate` per second. */
export function pace(rate: number, send: (k: number) => void): ReturnType<typeof setInterval> {
  const start = Date.now();
  let done = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - start) * rate) / 1000) - done;
    if (due <= 0) return;
    done += due;
    send(due);
  }, 10);
  return timer;
}
