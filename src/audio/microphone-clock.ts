/**
 * Maps AudioContext time to wall time (ms since the epoch) at which the graph
 * processed it. Each reading of the clock pairing jitters by a fraction of a
 * millisecond, so the offset is followed slowly (1% per frame): consecutive
 * timestamps stay `frameMs` apart to within microseconds while a drift between
 * the audio and system clocks is still tracked. A jump (the context was
 * suspended, the machine slept) resets it.
 */
export class AudioClock {
  private offset: number | undefined;

  constructor(private readonly context: AudioContext) {}

  toEpochMs(contextSeconds: number): number {
    const measured = this.measureOffset();
    if (this.offset === undefined || Math.abs(measured - this.offset) > 50) this.offset = measured;
    else this.offset += (measured - this.offset) * 0.01;
    return this.offset + contextSeconds * 1000;
  }

  /** Wall time minus context time, in ms: from getOutputTimestamp when the browser gives one. */
  private measureOffset(): number {
    const context = this.context;
    const stamp =
      typeof context.getOutputTimestamp === 'function' ? context.getOutputTimestamp() : {};
    const perf = (globalThis as { performance?: Performance }).performance;
    if (
      perf !== undefined &&
      stamp.performanceTime !== undefined &&
      stamp.contextTime !== undefined &&
      stamp.performanceTime > 0
    ) {
      // The pair says when a context time reaches the speakers; the graph
      // processed it the output latency (base + device) earlier.
      const outputLatency = finiteOr0(context.baseLatency) + finiteOr0(context.outputLatency);
      return perf.timeOrigin + stamp.performanceTime - (stamp.contextTime + outputLatency) * 1000;
    }
    return Date.now() - context.currentTime * 1000;
  }
}

/** How long before the graph sees a sample the microphone captured it, where the browser says (Chrome does). */
export function captureLatencyMs(stream: MediaStream): number {
  const settings = stream.getAudioTracks()[0]?.getSettings?.() as { latency?: number } | undefined;
  return finiteOr0(settings?.latency) * 1000;
}

function finiteOr0(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}
