// Real headless Chromium with a fake microphone playing a WAV made here:
// fromMicrophone in the browser, and (issue 4) microphone -> resample ->
// toPcm16 -> frames -> client.audio -> binary frames -> session.audio$.
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import type { AudioChunk } from '../../src/audio/types';
import {
  SKIP_MESSAGE,
  bundlePage,
  hasChromium,
  launchChromium,
  removeFolder,
  screenshot,
  startApp,
  tempFolder,
  until,
  writeSineWav,
  type TestApp,
} from './harness';

const TONE_HZ = 440;

interface ChunkReport {
  seq: number;
  length: number;
  type: string;
  sampleRate: number;
  channels: number;
  timestamp: number;
  receivedAt: number;
  rising: number;
  rms: number;
  contextRate: number;
}

/** Everything one page sent over its session. */
interface Inbox {
  reports: ChunkReport[];
  errors: unknown[];
  done: { contexts: string[]; tracks: string[]; revoked: number } | undefined;
  audio: Array<{ chunk: AudioChunk; at: number }>;
  stats: unknown;
}

describe('browser: fromMicrophone in Chromium', () => {
  if (!hasChromium) {
    it('is skipped without Chromium', () => console.warn(SKIP_MESSAGE));
    return;
  }
  jest.setTimeout(60_000);

  let folder: string;
  let app: TestApp;
  let browser: BrowserContext;
  let inbox: Inbox;

  beforeAll(async () => {
    folder = tempFolder('browser');
    const wav = join(folder, `sine-${TONE_HZ}hz-48k.wav`);
    writeSineWav(wav, { hz: TONE_HZ, sampleRate: 48_000, seconds: 5 });
    app = await startApp({
      'mic-json': bundlePage('mic-json'),
      'mic-to-server': bundlePage('mic-to-server'),
      'readme-mic': bundlePage('readme-mic'),
    });
    app.rx.sessions$.subscribe((session) => {
      session.on('mic_chunk').subscribe((r) => inbox.reports.push(r as ChunkReport));
      session.on('mic_error').subscribe((e) => inbox.errors.push(e));
      session.on('mic_done').subscribe((d) => (inbox.done = d as Inbox['done']));
      session.audio$.subscribe((chunk) => inbox.audio.push({ chunk, at: performance.now() }));
      const withStats = session as {
        audioStats$?: { subscribe(f: (s: unknown) => void): unknown };
      };
      withStats.audioStats$?.subscribe((s) => (inbox.stats = s));
    });
    browser = await launchChromium(wav, join(folder, 'profile'));
    console.log(`browser test files (WAV, screenshots): ${folder}`);
  });

  beforeEach(() => {
    inbox = { reports: [], errors: [], done: undefined, audio: [], stats: undefined };
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    if (folder) removeFolder(join(folder, 'profile'));
  });

  const noErrors = (): void => {
    if (inbox.errors.length) throw new Error(`the page reported ${JSON.stringify(inbox.errors)}`);
  };

  it('captures 20 ms Float32 chunks at the native rate, numbered and timed without gaps, then releases everything', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${app.origin}/mic-json?stopAfter=60`);
      await until(() => inbox.done !== undefined || inbox.errors.length > 0, 'mic_done');
      noErrors();
      await screenshot(page, folder, 'mic-json-native');
      const reports = inbox.reports;
      expect(reports).toHaveLength(60);
      const rate = reports[0]!.contextRate;
      expect([44_100, 48_000]).toContain(rate);
      reports.forEach((r, i) => {
        expect(r).toMatchObject({
          seq: i,
          type: 'Float32Array',
          sampleRate: rate,
          channels: 1,
          length: Math.round(rate * 0.02),
        });
      });
      // Timestamps come from the audio clock: exactly 20 ms apart, and near the wall clock.
      for (let i = 1; i < reports.length; i++) {
        expect(reports[i]!.timestamp - reports[i - 1]!.timestamp).toBeCloseTo(20, 1);
      }
      const last = reports[reports.length - 1]!;
      // From the first sample's capture to the page holding the chunk: positive, bounded, steady (no drift).
      const lags = reports.map((r) => r.receivedAt - r.timestamp);
      expect(Math.min(...lags)).toBeGreaterThan(0);
      expect(Math.max(...lags)).toBeLessThan(500);
      expect(Math.max(...lags) - Math.min(...lags)).toBeLessThan(100);
      // The tone got through: 440 Hz over 20 ms is 8.8 rising zero crossings.
      const { rising, rms } = expectTone(reports);
      // Unsubscribing stopped the tracks, closed the context, revoked the Blob URL.
      expect(inbox.done).toEqual({ contexts: ['closed'], tracks: ['ended'], revoked: 1 });
      console.log(
        `native capture: ${reports.length} chunks of ${last.length} samples at ${rate} Hz, ` +
          `rms ${rms.toFixed(3)}, ${rising.toFixed(2)} rising crossings per chunk, ` +
          `timestamp-to-page lag ${Math.min(...lags).toFixed(0)}..${Math.max(...lags).toFixed(0)} ms`,
      );
    } finally {
      await page.close();
    }
  });

  it('resamples inside the worklet to sampleRate 16000 and keeps the tone', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${app.origin}/mic-json?rate=16000&stopAfter=60`);
      await until(() => inbox.done !== undefined || inbox.errors.length > 0, 'mic_done');
      noErrors();
      await screenshot(page, folder, 'mic-json-16k');
      const reports = inbox.reports;
      expect(reports).toHaveLength(60);
      for (const [i, r] of reports.entries()) {
        expect(r).toMatchObject({ seq: i, sampleRate: 16_000, length: 320, type: 'Float32Array' });
      }
      // The 48 kHz file's 0.5 amplitude survives resampling.
      const { rising, rms } = expectTone(reports);
      console.log(
        `worklet resampling ${reports[0]!.contextRate} -> 16000 Hz: ${reports.length} chunks, ` +
          `rms ${rms.toFixed(3)}, ${rising.toFixed(2)} rising crossings per 20 ms (440 Hz gives 8.8)`,
      );
    } finally {
      await page.close();
    }
  });

  it('issue 4: microphone -> resample(16000) -> toPcm16() -> frames(20) -> client.audio reaches the server at 50 ± 5 frames/s, no gaps for 3 s', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${app.origin}/mic-to-server`);
      await until(() => inbox.audio.length > 0 || inbox.errors.length > 0, 'the first audio frame');
      noErrors();
      // Let the pipeline settle for 500 ms, then watch 3 s of arrivals.
      const from = inbox.audio[0]!.at + 500;
      const to = from + 3_000;
      await until(
        () => inbox.audio[inbox.audio.length - 1]!.at >= to || inbox.errors.length > 0,
        '3.5 s of audio frames',
      );
      noErrors();
      await screenshot(page, folder, 'mic-to-server');
      const window = inbox.audio.filter(({ at }) => at >= from && at < to);
      const perSecond = [0, 1, 2].map(
        (s) =>
          window.filter(({ at }) => at >= from + s * 1_000 && at < from + (s + 1) * 1_000).length,
      );
      const chunks = inbox.audio.map(({ chunk }) => chunk);
      const seqs = chunks.map((c) => c.seq);
      const gaps = seqs.filter((seq, i) => i > 0 && seq !== seqs[i - 1]! + 1).length;
      console.log(
        `issue 4: ${window.length} frames in 3 s (${(window.length / 3).toFixed(1)}/s; per second ${perSecond.join(', ')}), ` +
          `seq ${seqs[0]}..${seqs[seqs.length - 1]}, gaps ${gaps}, server stats ${JSON.stringify(inbox.stats, statsReplacer)}`,
      );
      for (const c of chunks) {
        expect(c.sampleRate).toBe(16_000);
        expect(c.channels).toBe(1);
        expect(c.samples).toBeInstanceOf(Int16Array);
        expect(c.samples.length).toBe(320);
      }
      expect(gaps).toBe(0);
      expect(window.length / 3).toBeGreaterThanOrEqual(45);
      expect(window.length / 3).toBeLessThanOrEqual(55);
      for (const n of perSecond) {
        expect(n).toBeGreaterThanOrEqual(45);
        expect(n).toBeLessThanOrEqual(55);
      }
      const streams = (inbox.stats as { streams?: Map<number, { lost: number }> } | undefined)
        ?.streams;
      if (streams) expect(streams.get(0)?.lost).toBe(0);
    } finally {
      await page.close();
    }
  });

  it("the README's microphone example: a click starts 16 kHz frames and a level meter, Stop stops them, nothing lost", async () => {
    const page = await browser.newPage();
    const stats = async () =>
      JSON.parse((await page.textContent('#stats')) || '{}') as {
        sent?: number;
        lastRms?: number;
        droppedOffline?: number;
        droppedBackpressure?: number;
      };
    try {
      await page.goto(`${app.origin}/readme-mic`);
      await until(() => app.rx.sessions.size > 0, 'the page to connect');
      await page.click('#mic');
      await until(() => inbox.audio.length >= 50 || inbox.errors.length > 0, '50 audio frames');
      const running = await stats();
      expect(running.lastRms).toBeLessThan(0); // dBFS: the meter got levels
      expect(running.lastRms).toBeGreaterThan(-20); // the tone at amplitude 0.5 is about -9 dBFS
      await page.click('#stop');
      // After Stop the client sends nothing more: the server ends with exactly what it sent.
      const sentAtStop = (await stats()).sent!;
      await until(() => inbox.audio.length >= sentAtStop, 'the last frames');
      const final = await stats();
      expect(final.sent).toBe(sentAtStop);
      expect(final.droppedOffline).toBe(0);
      expect(final.droppedBackpressure).toBe(0);
      expect(inbox.audio.length).toBe(sentAtStop);
      for (const { chunk } of inbox.audio) {
        expect(chunk.sampleRate).toBe(16_000);
        expect(chunk.samples.length).toBe(320);
      }
    } finally {
      await page.close();
    }
  });
});

function statsReplacer(_key: string, value: unknown): unknown {
  return value instanceof Map ? Object.fromEntries(value) : value;
}

/**
 * The fake microphone's 440 Hz tone at amplitude 0.5 got through: 8.8 rising
 * zero crossings per 20 ms and an RMS of 0.5 / sqrt 2, averaged after warm-up.
 */
function expectTone(reports: { rising: number; rms: number }[]): { rising: number; rms: number } {
  const steady = reports.slice(10);
  const rising = steady.reduce((n, r) => n + r.rising, 0) / steady.length;
  expect(rising).toBeGreaterThan(8);
  expect(rising).toBeLessThan(9.6);
  const rms = steady.reduce((n, r) => n + r.rms, 0) / steady.length;
  expect(rms).toBeGreaterThan(0.3);
  expect(rms).toBeLessThan(0.4);
  return { rising, rms };
}
