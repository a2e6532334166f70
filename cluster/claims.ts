// Claims of sessions that arrive together go to the store together: when
// many clients resume on a node at once (a drain elsewhere sends them all),
// their takeovers claim with one script call per batch instead of one each.
// A claim waits at most for the end of the turn it was made in, or for the
// batch in flight to answer: one batch is in flight at a time, and the
// claims made meanwhile form the next. Each claim is decided in the store
// as if it ran alone, so batching changes no fencing epoch.
import type { ClaimResult, ClusterEngine, SessionClaim } from './engine.js';

/** Claims per store command at most. */
const CLAIM_BATCH = 256;

interface Pending extends SessionClaim {
  resolve(result: ClaimResult): void;
  reject(error: unknown): void;
}

export class ClaimBatcher {
  private queued: Pending[] = [];
  private scheduled = false;
  private inFlight = false;

  constructor(
    private readonly engine: ClusterEngine,
    private readonly nodeId: string,
  ) {}

  /** Claims `sid` for this node; rejects when the store does not answer (as the whole batch does). */
  claim(sid: string, userKey: string): Promise<ClaimResult> {
    return new Promise((resolve, reject) => {
      this.queued.push({ sid, userKey, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.send();
    });
  }

  private async send(): Promise<void> {
    const batch = this.queued.splice(0, CLAIM_BATCH);
    if (batch.length === 0) return;
    this.inFlight = true;
    try {
      const results = await this.engine.claim(this.nodeId, batch);
      batch.forEach((pending, i) => {
        const result = results[i];
        if (result === undefined) pending.reject(new Error('the store answered fewer claims'));
        else pending.resolve(result);
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.inFlight = false;
    }
    if (this.queued.length > 0) this.schedule();
  }
}
