// The demo page (npm start) in headless Chromium, against startDemo() on port
// 0: connected as a guest on first load, status and latency, sign-in, the
// favicon, chat streaming and Stop, the microphone with
// a fake device playing a WAV made here, an outage with a queued message, a
// server gone for good and back, re-authentication with a fresh token, and
// chat over the HTTP fallback transport while WebSocket upgrades are blocked.
// Every test saves a screenshot under os.tmpdir()/rxwire-browser-shots/; the
// microphone test also writes docs/demo.png when RXWIRE_UPDATE_DEMO_PNG=1.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { BrowserContext, Page } from 'playwright-core';
import { startDemo, type ChatRecord, type Demo } from '../../demo/server';
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
import { chat, chatThenStop, chatsWith, expectMicrophoneAt50, lastReplyChunks } from './demo-steps';

const SHOTS = join(tmpdir(), 'rxwire-browser-shots');
const DOCS_SCREENSHOT = join(__dirname, '..', '..', 'docs', 'demo.png');
const WAIT = { timeout: 20_000 };

/** The page's client, as the page exposes it for the devtools console. */
interface PageWindow {
  rxwireDemo: {
    client: { state: { status: string; sessionId?: string; transport: 'websocket' | 'http' } };
  };
}

describe('browser: the demo page', () => {
  if (!hasChromium) {
    it('is skipped without Chromium', () => console.warn(SKIP_MESSAGE));
    return;
  }
  jest.setTimeout(60_000);

  let folder: string;
  let demo: Demo;
  let browser: BrowserContext;

  beforeAll(async () => {
    folder = tempFolder('demo');
    const wav = join(folder, 'tone-440hz-48k.wav');
    writeSineWav(wav, { hz: 440, sampleRate: 48_000, seconds: 5 });
    [demo, browser] = await Promise.all([
      startDemo({ port: 0, chatDelayMs: 40 }),
      launchChromium(wav, join(folder, 'profile')),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    if (folder) removeFolder(folder);
  });

  /** Opens the page (a fresh tab) with a query string. */
  async function open(query = ''): Promise<Page> {
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT.timeout);
    await page.goto(`${demo.url}/${query}`);
    return page;
  }

  const status = (page: Page, value: string) =>
    page.waitForSelector(`#conn[data-status="${value}"]`, WAIT);

  const sessionId = (page: Page) =>
    page.evaluate(() => (window as unknown as PageWindow).rxwireDemo.client.state.sessionId);

  const shot = (page: Page, name: string) => screenshot(page, SHOTS, `demo-${name}`);

  const chats = (text: string): ChatRecord[] => chatsWith(demo, text);

  it('is connected when it opens: green with the latency and presence, as a guest, without a click', async () => {
    const failed: string[] = [];
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT.timeout);
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    try {
      await page.goto(`${demo.url}/`);
      await status(page, 'connected');
      expect(await page.textContent('#status-label')).toBe('connected');
      expect(await page.getAttribute('#status-label', 'aria-live')).toBe('polite');
      await page.waitForFunction(() =>
        /^\d+ ms$/.test(document.getElementById('latency')!.textContent ?? ''),
      );
      expect(await page.textContent('#transport')).toBe('via WebSocket');
      const id = await sessionId(page);
      const guest = demo.debug().sessions.find((s) => s.id === id);
      expect(guest).toMatchObject({ connected: true, transport: 'websocket' });
      expect(guest!.name).toMatch(/^guest-[0-9a-f]{4}$/);
      expect(await page.textContent('#who')).toContain(`You are ${guest!.name}, a guest`);
      // Presence is broadcast on join: the page shows how many sessions the server has.
      await page.waitForFunction(
        (n) => document.getElementById('online')!.textContent === String(n),
        demo.debug().online,
      );
      expect(await page.textContent('#online-label')).toMatch(/^sessions? connected$/);
      expect(await page.isHidden('#retry')).toBe(true);
      expect(await page.isHidden('#problem')).toBe(true);
      expect(await page.isEnabled('#expire-token')).toBe(true);
      // The page, its script and its icon: nothing answered 404 (the favicon used to).
      expect(failed).toEqual([]);
      const icon = await fetch(`${demo.url}/favicon.ico`);
      expect(icon.status).toBe(200);
      expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
      expect(await icon.text()).toMatch(/^<svg /);
      expect(demo.debug().page).toEqual({ ok: true, from: 'source' });
      await shot(page, 'connected');

      // Signing in with a name stays available: the client reconnects under that name.
      await page.fill('#name', 'ada');
      await page.click('#signin-button');
      await until(
        () => demo.debug().sessions.some((s) => s.name === 'ada' && s.connected),
        'a session named ada',
      );
      await status(page, 'connected');
      const named = demo.debug().sessions.find((s) => s.id === id);
      expect(named?.connected ?? false).toBe(false); // the guest's connection was closed
      expect(await page.textContent('#who')).toContain('Signed in as ada');
      await shot(page, 'signed-in');
    } finally {
      await page.close();
    }
  });

  it('streams a chat reply in several chunks, in order; Stop cancels and the server handler is unsubscribed', async () => {
    const page = await open('?name=chatter');
    try {
      await status(page, 'connected');
      await chatThenStop(page, demo, {
        complete: 'tell me about streams',
        stop: 'please stop early',
      });
      await shot(page, 'chat-stopped');
    } finally {
      await page.close();
    }
  });

  it('streams the fake microphone: the server reports ~50 frames/s and none lost (writes docs/demo.png)', async () => {
    const page = await open('?name=ada');
    await page.setViewportSize({ width: 1280, height: 900 });
    try {
      await status(page, 'connected');
      await chat(page, 'What is rxwire?');
      await page.waitForSelector('#chat-log li.bot[data-state="complete"]', WAIT);
      const id = await sessionId(page);
      const shown = await expectMicrophoneAt50(page, demo, id!, 'demo microphone');
      // 20 ms frames: seconds received and frames agree.
      expect(shown.seconds).toBeCloseTo(shown.frames * 0.02, 5);
      await shot(page, 'microphone');
      // The README's screenshot is refreshed on demand, so `npm test` leaves the tree clean:
      // RXWIRE_UPDATE_DEMO_PNG=1 npx jest spec/browser/demo.spec.ts
      if (process.env.RXWIRE_UPDATE_DEMO_PNG === '1') {
        await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true });
        process.stdout.write(`screenshot: ${DOCS_SCREENSHOT}\n`);
      }
      await page.click('#mic-stop');
      expect(await page.isEnabled('#mic-start')).toBe(true);
    } finally {
      await page.close();
    }
  });

  it('rides out an outage: yellow with the attempt count, a message sent meanwhile is delivered once, green again', async () => {
    const page = await open('?name=outage&baseDelay=300&maxDelay=1000&jitter=0');
    try {
      await status(page, 'connected');
      await page.fill('#outage-seconds', '3');
      await page.click('#outage-refuse');
      await status(page, 'reconnecting');
      // Presence: no stale count, and no "– session connected" while offline.
      expect(await page.textContent('#online')).toBe('');
      expect(await page.textContent('#online-label')).toBe(
        'offline: the count comes back with the connection',
      );
      await page.waitForFunction(() =>
        /^retry \d+ of 5( in [\d.]+ s|, trying now)$/.test(
          document.getElementById('backoff')!.textContent ?? '',
        ),
      );
      await chat(page, 'sent during the outage');
      await page.waitForFunction(() =>
        /1 message queued/.test(document.getElementById('queued')!.textContent ?? ''),
      );
      // 1013 first ("refusing connections"), then 1006 for each upgrade the gate refuses:
      // the browser does not expose the 503, the log line says it anyway.
      expect(await page.textContent('#problem')).toMatch(
        /refusing connections|refused the upgrade/,
      );
      await page.waitForFunction(() =>
        /closed 1013 “demo outage: refusing connections for 3 s”[\s\S]*refused: 503/.test(
          document.getElementById('event-log')!.textContent ?? '',
        ),
      );
      await shot(page, 'outage-reconnecting');
      expect(chats('sent during the outage')).toHaveLength(0);

      await status(page, 'connected');
      await page.waitForSelector('#chat-log li.bot[data-state="complete"]', WAIT);
      const delivered = chats('sent during the outage');
      expect(delivered).toHaveLength(1);
      expect(delivered[0]!.state).toBe('completed');
      expect((await lastReplyChunks(page)).join('')).toBe(delivered[0]!.tokens.join(''));
      expect(demo.debug().outage.refused).toBeGreaterThanOrEqual(1);
      expect(await page.textContent('#queued')).toBe('');
      await page.waitForFunction(() =>
        /^\d+$/.test(document.getElementById('online')!.textContent!),
      );
      expect(await page.textContent('#online-label')).toMatch(/^sessions? connected$/);
      await shot(page, 'outage-recovered');
    } finally {
      await page.close();
    }
  });

  it('re-authenticates with a fresh token without user action when the token is expired (as a guest)', async () => {
    const page = await open();
    try {
      await status(page, 'connected');
      const logins = demo.debug().logins;
      await page.click('#expire-token');
      // The event log: the server refused the expired token, then the client was connected again.
      await page.waitForFunction(() =>
        /closed 4401[^\n]*fresh token[\s\S]*connected: (resumed |new )?session/.test(
          [...document.querySelectorAll('#event-log li')].map((li) => li.textContent).join('\n'),
        ),
      );
      await status(page, 'connected');
      const after = demo.debug().logins;
      expect(after.expired).toBe(logins.expired + 1); // the expired token the server refused
      expect(after.issued).toBe(logins.issued + 2); // ...and the fresh one fetched right after
      const auth = await page.textContent('#auth-log');
      expect(auth).toMatch(/already expired \(on purpose\)[\s\S]*valid for \d+ s/);
      expect(await page.isHidden('#problem')).toBe(true);
      await shot(page, 'reauthenticated');
    } finally {
      await page.close();
    }
  });

  it('chat works with WebSocket blocked', async () => {
    // A proxy that refuses upgrades (403) but lets plain HTTP through: after
    // fallbackAfter=2 failed upgrades the client moves to the HTTP transport.
    demo.blockWebSocket(true);
    const refusedBefore = demo.debug().webSocket.refused;
    const page = await open(
      '?name=proxied&transports=websocket,http&fallbackAfter=2&baseDelay=200&jitter=0',
    );
    try {
      await status(page, 'connected');
      await page.waitForFunction(
        () => document.getElementById('transport')!.textContent === 'via HTTP',
      );
      expect(
        await page.evaluate(
          () => (window as unknown as PageWindow).rxwireDemo.client.state.transport,
        ),
      ).toBe('http');
      // Exactly the two upgrades the gate refused, then HTTP.
      expect(demo.debug().webSocket).toEqual({ blocked: true, refused: refusedBefore + 2 });
      const id = await sessionId(page);
      expect(demo.debug().sessions).toContainEqual({
        id,
        name: 'proxied',
        connected: true,
        transport: 'http',
        audio: null,
      });
      expect(await page.textContent('#event-log')).toMatch(
        /switching transport: next attempt via HTTP[\s\S]*connected: session \S+ via HTTP/,
      );

      await chat(page, 'hello over http');
      // Streamed over the event stream as it is produced, not in one piece at the end.
      const partial = await (
        await page.waitForFunction(() => {
          const item = document.querySelector('#chat-log li.bot:last-child');
          return item?.getAttribute('data-state') === 'streaming'
            ? item.querySelectorAll('.tok').length
            : 0;
        })
      ).jsonValue();
      await page.waitForSelector('#chat-log li.bot[data-state="complete"]', WAIT);
      const [done] = chats('hello over http');
      expect(done?.state).toBe('completed');
      expect(done?.sessionId).toBe(id);
      const chunks = await lastReplyChunks(page);
      expect(chunks.length).toBeGreaterThan(5);
      expect(partial).toBeLessThan(chunks.length);
      expect(chunks).toEqual(done!.tokens); // every token, each as its own chunk, in order
      expect(chunks.join('')).toMatch(/^You said "hello over http"/);
      // The server's session is on HTTP (the debug route reads session.transport).
      expect(demo.debug().sessions.find((s) => s.id === id)?.transport).toBe('http');
      expect(demo.server.sessions.get(id!)?.transport).toBe('http');
      await shot(page, 'http-fallback');
    } finally {
      demo.blockWebSocket(false);
      await page.close();
    }
  });

  it('starts on HTTP with ?transports=http, and a WebSocket probe moves the session back once upgrades pass', async () => {
    const page = await open('?name=probe&transports=http');
    try {
      await status(page, 'connected');
      await page.waitForFunction(
        () => document.getElementById('transport')!.textContent === 'via HTTP',
      );
      const id = await sessionId(page);
      expect(demo.server.sessions.get(id!)?.transport).toBe('http');
      await page.close();

      // Both transports, upgrades blocked: on HTTP after one failed upgrade; probing every 300 ms.
      demo.blockWebSocket(true);
      const probing = await open(
        '?name=probe2&transports=websocket,http&fallbackAfter=1&probeInterval=300&baseDelay=200&jitter=0',
      );
      try {
        await status(probing, 'connected');
        await probing.waitForFunction(
          () => document.getElementById('transport')!.textContent === 'via HTTP',
        );
        const moved = await sessionId(probing);
        const refused = demo.debug().webSocket.refused;
        // The probes keep failing while blocked (the session stays on HTTP)...
        await until(() => demo.debug().webSocket.refused >= refused + 2, 'two failed probes');
        expect(demo.server.sessions.get(moved!)?.transport).toBe('http');
        // ...and once upgrades pass, the next probe moves the same session to WebSocket.
        demo.blockWebSocket(false);
        await probing.waitForFunction(
          () => document.getElementById('transport')!.textContent === 'via WebSocket',
        );
        await status(probing, 'connected');
        expect(await sessionId(probing)).toBe(moved);
        await until(
          () => demo.server.sessions.get(moved!)?.transport === 'websocket',
          'the session on WebSocket',
        );
        await chat(probing, 'back on websocket');
        await probing.waitForSelector('#chat-log li.bot[data-state="complete"]', WAIT);
        expect(chats('back on websocket')[0]?.sessionId).toBe(moved);
        await shot(probing, 'http-probe-back-to-websocket');
      } finally {
        await probing.close();
      }
    } finally {
      demo.blockWebSocket(false);
      if (!page.isClosed()) await page.close();
    }
  });

  it('ends in error with Retry when the server is gone for good; Retry reconnects once it is back', async () => {
    const page = await open('?name=gone&maxAttempts=2&baseDelay=200&jitter=0');
    try {
      await status(page, 'connected');
      const { port } = demo;
      await demo.close();
      await status(page, 'error');
      await page.waitForSelector('#retry', { ...WAIT, state: 'visible' });
      expect(await page.getAttribute('#problem', 'data-code')).toBe('RXWIRE_RECONNECT_FAILED');
      expect(await page.textContent('#problem')).toMatch(/Gave up after 2 retries.*press Retry/);
      await shot(page, 'server-gone');

      demo = await startDemo({ port, chatDelayMs: 40 });
      await page.click('#retry');
      await status(page, 'connected');
      expect(await page.isHidden('#retry')).toBe(true);
      expect(demo.server.sessions.size).toBe(1);
      await shot(page, 'server-back');
    } finally {
      await page.close();
    }
  });
});
