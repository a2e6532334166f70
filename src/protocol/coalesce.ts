/**
 * A byte stream that can hold writes back and release them together: Node's
 * `stream.Writable` (a `net.Socket` or `tls.TLSSocket`) fits.
 */
export interface Corkable {
  /** How many `cork()` calls are still waiting for their `uncork()`. */
  readonly writableCorked: number;
  cork(): void;
  uncork(): void;
}

/** Where the end-of-turn flush is chained (a microtask). */
const resolved = Promise.resolve();

/**
 * Coalesces the frames written to one socket within one turn of the event
 * loop. The first write of the turn corks the stream; a microtask at the end
 * of the turn uncorks every stream held, so a burst of N frames leaves as one
 * `writev` system call instead of N `write` calls, and no frame waits past the
 * turn it was sent in. A frame alone makes the one write it always made, at
 * the end of its turn instead of at once.
 *
 * A stream someone else already corked is left alone: its own `uncork()` will
 * send what was added. Destroying a held stream drops what it holds, so call
 * {@link release} before destroying one whose frames must still go out.
 *
 * @example
 * ```ts
 * const writes = new WriteCoalescer();
 * writes.hold(netSocket);
 * ws.send(a);
 * ws.send(b); // a and b reach the kernel together, once this turn ends
 * ```
 */
export class WriteCoalescer {
  private held: Corkable[] = [];
  private readonly flush = (): void => {
    const held = this.held;
    this.held = [];
    // One uncork per cork of ours; on a stream ended, destroyed or released
    // since, it does nothing. Sockets report write errors as 'error' events, so
    // a throw can only come from some other stream; it must not keep the rest
    // corked, and the stream that threw reports its own failure.
    for (const stream of held) {
      try {
        stream.uncork();
      } catch {
        // see above
      }
    }
  };

  /** Corks `stream` until the end of this turn, unless it is corked already. */
  hold(stream: Corkable): void {
    if (stream.writableCorked > 0) return;
    stream.cork();
    // A promise reaction, not queueMicrotask: Node's queueMicrotask makes an
    // AsyncResource per call, which costs more than the write it saves here.
    if (this.held.push(stream) === 1) void resolved.then(this.flush);
  }

  /**
   * Sends what `stream` holds now, for a stream about to be destroyed. The
   * end-of-turn flush then finds it uncorked, and its uncork does nothing.
   */
  release(stream: Corkable): void {
    if (stream.writableCorked > 0) stream.uncork();
  }
}
