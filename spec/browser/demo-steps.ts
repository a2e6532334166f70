// Steps the two demo pages share (the plain page, demo.spec.ts, and the
// React page, react-demo.spec.ts): they have the same chat and microphone
// panels, element ids included, against the same startDemo() server.
import type { Page } from 'playwright-core';
import type { AudioView } from '../../demo/protocol';
import type { ChatRecord, Demo } from '../../demo/server';
import { until } from './harness';

const WAIT = { timeout: 20_000 };

/** The chat requests the server handled with this text. */
export const chatsWith = (demo: Demo, text: string): ChatRecord[] =>
  demo.debug().chats.filter((c) => c.text === text);

/** The token chunks of the last reply bubble, in order. */
export const lastReplyChunks = (page: Page) =>
  page.$$eval('#chat-log li.bot:last-child .tok', (spans) => spans.map((s) => s.textContent));

/** Types a chat message and sends it with the Send button. */
export async function chat(page: Page, text: string): Promise<void> {
  await page.fill('#chat-text', text);
  await page.click('#chat-send');
}

/**
 * Sends `texts.complete` and checks its reply streamed in every token, in
 * order; then sends `texts.stop`, presses Stop after three tokens, and checks
 * that the server's handler was unsubscribed and the page shows what the
 * server sent before the `$cancel`, and nothing after.
 */
export async function chatThenStop(
  page: Page,
  demo: Demo,
  texts: { complete: string; stop: string },
): Promise<void> {
  await chat(page, texts.complete);
  await page.waitForSelector('#chat-log li.bot[data-state="complete"]', WAIT);
  const [done] = chatsWith(demo, texts.complete);
  expect(done?.state).toBe('completed');
  const chunks = await lastReplyChunks(page);
  expect(chunks.length).toBeGreaterThan(5);
  expect(chunks).toEqual(done!.tokens); // every token, each as its own chunk, in order
  expect(chunks.join('').startsWith(`You said "${texts.complete}"`)).toBe(true);

  await chat(page, texts.stop);
  await page.waitForFunction(
    () => document.querySelectorAll('#chat-log li.bot:last-child .tok').length >= 3,
  );
  await page.click('#chat-stop');
  await until(
    () => chatsWith(demo, texts.stop)[0]?.state === 'cancelled',
    'the handler to be unsubscribed',
  );
  const [stopped] = chatsWith(demo, texts.stop);
  expect(await page.getAttribute('#chat-log li.bot:last-child', 'data-state')).toBe('stopped');
  expect(stopped!.tokens.length).toBeLessThan(done!.tokens.length);
  const shown = await lastReplyChunks(page);
  expect(stopped!.tokens.slice(0, shown.length)).toEqual(shown);
}

/**
 * Presses Start, waits for the tone on the level meter and a second of audio
 * at the server, then measures the frame rate in the server on the wall clock
 * over 100 more frames (2 s), and checks it is 50 frames/s (40 to 60 on a
 * busy machine) with none lost or reordered, in the server and on the page.
 * Prints the measurement under `label`; returns what the page shows.
 */
export async function expectMicrophoneAt50(
  page: Page,
  demo: Demo,
  sessionId: string,
  label: string,
): Promise<AudioView> {
  await page.click('#mic-start');
  // The level meter shows the tone (silence reads -100 dBFS; the WAV's 0.5 amplitude
  // gives -9, less whatever the browser's voice processing takes off).
  await page.waitForFunction(() => {
    const db = Number(document.getElementById('level-db')!.dataset.db ?? NaN);
    return db > -50 && db < -3;
  });
  await page.waitForFunction(() => {
    const raw = document.getElementById('server-view')!.dataset.view;
    return raw !== undefined && (JSON.parse(raw) as AudioView).seconds >= 1;
  });
  const received = () =>
    demo.server.sessions.get(sessionId)?.audioStats.streams.get(1)?.received ?? 0;
  const from = { at: performance.now(), frames: received() };
  await until(() => received() >= from.frames + 100, '2 s more of audio frames', 20_000);
  const to = { at: performance.now(), frames: received() };
  await page.waitForFunction((frames) => {
    const raw = document.getElementById('server-view')!.dataset.view;
    return raw !== undefined && (JSON.parse(raw) as AudioView).frames >= frames;
  }, to.frames);
  const shown = JSON.parse((await page.getAttribute('#server-view', 'data-view'))!) as AudioView;
  const rate = ((to.frames - from.frames) * 1000) / (to.at - from.at);
  process.stdout.write(
    `${label}: ${rate.toFixed(1)} frames/s measured over ${((to.at - from.at) / 1000).toFixed(1)} s; ` +
      `page shows ${JSON.stringify(shown)}\n`,
  );
  expect(rate).toBeGreaterThanOrEqual(40);
  expect(rate).toBeLessThanOrEqual(60);
  expect(shown).toMatchObject({ streamId: 1, sampleRate: 16_000, lost: 0, reordered: 0 });
  expect(shown.framesPerSecond).toBeGreaterThanOrEqual(40);
  expect(shown.framesPerSecond).toBeLessThanOrEqual(60);
  expect(await page.textContent('#view-lost')).toBe('0');
  return shown;
}
