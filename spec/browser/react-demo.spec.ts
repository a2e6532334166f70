// The React demo page (/react, demo/react/ on rxwire/react, rendered in
// StrictMode) in headless Chromium against startDemo() on port 0: one
// connection, a green status with the latency, a chat reply streamed in and
// stopped on the server, the fake microphone at 50 frames/s with none lost,
// and an outage shown yellow with "Retry n/max", then green again. Every test
// saves a screenshot under os.tmpdir()/rxwire-browser-shots/.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { BrowserContext, Page } from 'playwright-core';
import { startDemo, type Demo } from '../../demo/server';
import {
  SKIP_MESSAGE,
  hasChromium,
  launchChromium,
  removeFolder,
  screenshot,
  tempFolder,
  until,
  writeSineWav,
} from './harness';
import { chatThenStop, expectMicrophoneAt50 } from './demo-steps';

const SHOTS = join(tmpdir(), 'rxwire-browser-shots');
const WAIT = { timeout: 20_000 };

describe('browser: the React demo page', () => {
  if (!hasChromium) {
    it('is skipped without Chromium', () => console.warn(SKIP_MESSAGE));
    return;
  }
  jest.setTimeout(60_000);

  let folder: string;
  let demo: Demo;
  let browser: BrowserContext;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    folder = tempFolder('react-demo');
    const wav = join(folder, 'tone-440hz-48k.wav');
    writeSineWav(wav, { hz: 440, sampleRate: 48_000, seconds: 5 });
    [demo, browser] = await Promise.all([
      startDemo({ port: 0, chatDelayMs: 40 }),
      launchChromium(wav, join(folder, 'profile')),
    ]);
    expect(demo.debug().page.ok).toBe(true);
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    if (folder) removeFolder(folder);
  });

  afterEach(() => {
    // An uncaught error or a React warning in the page fails the test that caused it.
    const errors = pageErrors.splice(0);
    expect(errors).toEqual([]);
  });

  async function open(query: string): Promise<Page> {
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT.timeout);
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      const text = message.text();
      // The browser's own network logs (no favicon, refused upgrades during the outage) are expected.
      if (
        message.type() === 'error' &&
        !/^Failed to load resource|^WebSocket connection to/.test(text)
      ) {
        pageErrors.push(text);
      }
    });
    await page.goto(`${demo.url}/react${query}`);
    return page;
  }

  const tone = (page: Page, value: string) =>
    page.waitForSelector(`.conn[data-tone="${value}"]`, WAIT);
  const shot = (page: Page, name: string) => screenshot(page, SHOTS, `react-demo-${name}`);
  const sessionsOf = (name: string) => demo.debug().sessions.filter((s) => s.name === name);

  it('turns green with the latency, on exactly one connection although StrictMode mounts twice', async () => {
    const page = await open('?name=reactor');
    try {
      await tone(page, 'green');
      expect(await page.getAttribute('.conn', 'data-status')).toBe('connected');
      expect(await page.textContent('.conn [data-part="label"]')).toBe('Connected');
      await page.waitForFunction(() =>
        /^\d+ ms$/.test(document.querySelector('.conn [data-part="latency"]')?.textContent ?? ''),
      );
      expect(await page.textContent('#transport')).toBe('via WebSocket');
      await page.waitForFunction(() =>
        /^\d+$/.test(document.getElementById('online')!.textContent!),
      );
      // One session, one token: the page never opened a second socket.
      expect(sessionsOf('reactor')).toHaveLength(1);
      expect(sessionsOf('reactor')[0]!.connected).toBe(true);
      expect(await page.$('.conn [data-part="retry"]')).toBeNull();
      await shot(page, 'connected');
    } finally {
      await page.close();
    }
  });

  it('connects on first load as a guest; signing in as someone else ends that session and connects afresh', async () => {
    const page = await open('');
    try {
      await tone(page, 'green');
      const guest = (await page.textContent('#who'))!.match(/You are (guest-[0-9a-f]{4})/)![1]!;
      expect(sessionsOf(guest)).toEqual([expect.objectContaining({ connected: true })]);
      await page.fill('#name', 'react-ada');
      await page.click('#signin-button');
      // disconnect() then connect() at once: the guest's session ends, ada's begins.
      await until(
        () => sessionsOf('react-ada').some((s) => s.connected) && sessionsOf(guest).length === 0,
        "ada's session, and the guest's gone",
      );
      await tone(page, 'green');
      expect(await page.textContent('#who')).toMatch(/^Signed in as react-ada\./);
      expect(sessionsOf('react-ada')).toHaveLength(1);
      await shot(page, 'signed-in');
    } finally {
      await page.close();
    }
  });

  it('streams a chat reply in; Stop ends the handler on the server', async () => {
    const page = await open('?name=react-chat');
    try {
      await tone(page, 'green');
      await chatThenStop(page, demo, { complete: 'react to this', stop: 'stop me early' });
      // The earlier reply stays as it ended.
      expect(
        await page.$$eval('#chat-log li.bot', (items) => items.map((li) => li.dataset.state)),
      ).toEqual(['complete', 'stopped']);
      await shot(page, 'chat-stopped');
    } finally {
      await page.close();
    }
  });

  it('streams the fake microphone: the server counts ~50 frames/s and none lost', async () => {
    const page = await open('?name=react-mic');
    await page.setViewportSize({ width: 1280, height: 900 });
    try {
      await tone(page, 'green');
      const [session] = sessionsOf('react-mic');
      await expectMicrophoneAt50(page, demo, session!.id, 'react demo microphone');
      expect(await page.textContent('#mic-client')).toMatch(/ 0 dropped while offline/);
      await shot(page, 'microphone');
      await page.click('#mic-stop');
      expect(await page.isEnabled('#mic-start')).toBe(true);
    } finally {
      await page.close();
    }
  });

  it('shows a dropped connection yellow with "Retry n/max", then green again', async () => {
    const page = await open('?name=react-outage&baseDelay=300&maxDelay=1000&jitter=0');
    try {
      await tone(page, 'green');
      await page.fill('#outage-seconds', '2');
      await page.click('#outage-refuse');
      await tone(page, 'yellow');
      // Presence: no stale count while offline.
      expect(await page.textContent('#online')).toBe('');
      expect(await page.textContent('#online-label')).toBe(
        'offline: the count comes back with the connection',
      );
      const attempt = await page.waitForSelector('.conn [data-part="attempt"]', WAIT);
      expect(await attempt.textContent()).toMatch(/^Retry [1-5]\/5$/);
      expect(await page.getAttribute('.conn', 'data-status')).toBe('reconnecting');
      await shot(page, 'reconnecting');
      await tone(page, 'green');
      expect(await page.$('.conn [data-part="attempt"]')).toBeNull();
      expect(sessionsOf('react-outage').filter((s) => s.connected)).toHaveLength(1);
      await shot(page, 'recovered');
    } finally {
      await page.close();
    }
  });
});
