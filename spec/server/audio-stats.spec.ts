// Sequence accounting of one audio stream: gaps, late fills, duplicates,
// stale frames and u32 wraparound, and the identity the counters keep.
import {
  AUDIO_SEQ_WINDOW,
  StreamTracker,
  type AudioStreamStats,
} from '../../server/audio-stats.js';

function track(seqs: number[]): AudioStreamStats {
  const [first, ...rest] = seqs;
  const tracker = new StreamTracker(7, first!, 0);
  for (const seq of rest) tracker.record(seq, seq);
  const stats = tracker.stats();
  // received - duplicates - stale + lost === span (firstSeq..lastSeq, mod 2^32)
  const span = ((stats.lastSeq - stats.firstSeq) >>> 0) + 1;
  expect(stats.received - stats.duplicates - stats.stale + stats.lost).toBe(span);
  return stats;
}

const counts = ({ received, lost, reordered, duplicates, stale, lastSeq }: AudioStreamStats) => ({
  received,
  lost,
  reordered,
  duplicates,
  stale,
  lastSeq,
});

describe('StreamTracker', () => {
  it.each<[string, number[], Partial<AudioStreamStats>]>([
    ['in order', [0, 1, 2, 3], { received: 4, lost: 0, reordered: 0, duplicates: 0, lastSeq: 3 }],
    ['a gap counts every skipped number', [0, 1, 5, 6], { received: 4, lost: 3, lastSeq: 6 }],
    [
      'a late frame fills a counted gap: reordered, one less lost',
      [0, 2, 1, 3],
      { received: 4, lost: 0, reordered: 1, lastSeq: 3 },
    ],
    ['partly filled gap', [0, 4, 2, 5], { received: 4, lost: 2, reordered: 1, lastSeq: 5 }],
    [
      'duplicates of the last and of an older frame',
      [0, 1, 1, 2, 0],
      { received: 5, lost: 0, duplicates: 2, reordered: 0, lastSeq: 2 },
    ],
    [
      'a late frame arriving twice is reordered once, then a duplicate',
      [0, 2, 1, 1],
      { received: 4, lost: 0, reordered: 1, duplicates: 1 },
    ],
    [
      'the first frame is the baseline: nothing before it is lost, earlier frames are stale',
      [100, 101, 99],
      { received: 3, lost: 0, stale: 1, lastSeq: 101 },
    ],
    [
      'wraps from 2^32-1 to 0 without loss',
      [0xfffffffe, 0xffffffff, 0, 1],
      { received: 4, lost: 0, lastSeq: 1 },
    ],
    [
      'a gap across the wrap',
      [0xfffffffe, 1, 0xffffffff],
      { received: 3, lost: 1, reordered: 1, lastSeq: 1 },
    ],
  ])('%s', (_name, seqs, expected) => {
    expect(counts(track(seqs))).toMatchObject(expected);
  });

  it(`counts frames more than ${AUDIO_SEQ_WINDOW} behind as stale and leaves their gap counted`, () => {
    const stats = track([0, 2, AUDIO_SEQ_WINDOW + 10, 1]);
    expect(counts(stats)).toMatchObject({ lost: AUDIO_SEQ_WINDOW + 8, stale: 1, reordered: 0 });
  });

  it('remembers a late fill inside the window after a jump bigger than the window', () => {
    const jump = AUDIO_SEQ_WINDOW * 3;
    const stats = track([0, jump, jump - 5, jump - 5]);
    expect(counts(stats)).toMatchObject({ lost: jump - 2, reordered: 1, duplicates: 1 });
  });

  it('treats a jump of 2^31 or more as behind (stale), not as billions lost', () => {
    expect(counts(track([10, 10 + 2 ** 31 + 5]))).toMatchObject({ lost: 0, stale: 1, lastSeq: 10 });
  });

  it('keeps exact counts over a long random shuffle with loss and duplicates', () => {
    let a = 42;
    const random = (): number => {
      a = (Math.imul(a, 1103515245) + 12345) >>> 0;
      return a / 2 ** 32;
    };
    const start = 0xffffff00; // crosses the wrap
    const sent: number[] = [];
    for (let i = 0; i < 5_000; i++) {
      const r = random();
      if (r < 0.05) continue; // lost
      sent.push((start + i) >>> 0);
      if (r > 0.98) sent.push((start + i) >>> 0); // duplicated
    }
    // Local reordering: swap neighbours now and then (never the first frame).
    for (let i = 2; i < sent.length; i++) {
      if (random() < 0.1) [sent[i - 1], sent[i]] = [sent[i]!, sent[i - 1]!];
    }
    const stats = track(sent);
    const unique = new Set(sent);
    const span = ((stats.lastSeq - stats.firstSeq) >>> 0) + 1;
    expect(stats.received).toBe(sent.length);
    expect(stats.duplicates).toBe(sent.length - unique.size);
    expect(stats.lost).toBe(span - unique.size);
    expect(stats.stale).toBe(0);
    expect(stats.reordered).toBeGreaterThan(0);
  });

  it('gives an immutable snapshot, the same object until the next frame', () => {
    const tracker = new StreamTracker(1, 0, 0);
    const a = tracker.stats();
    expect(tracker.stats()).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    tracker.record(1, 20);
    expect(tracker.stats()).not.toBe(a);
    expect(a.received).toBe(1);
    expect(tracker.stats()).toMatchObject({ received: 2, lastSeq: 1, lastTimestamp: 20 });
  });
});
