// Shared by the rxwire/react specs: a provider wrapper for renderHook, a
// FakeServer-backed client, a `ws` constructor that records what the client
// sends to a real server, and a console.error spy for React's warnings.
import type { ReactNode } from 'react';
import WebSocket from 'ws';
import { createClient, type Client, type ClientOptions, type Protocol } from '../../src/index';
import { RxwireProvider } from '../../src/react/index';
import { FakeServer } from '../../src/testing/index';
import type { WebSocketConstructor } from '../../src/client/socket';

/** A wrapper for `renderHook`/`render` that provides `client`. */
export function withClient<P extends Protocol>(client: Client<P>) {
  return function Wrapper({ children }: { children?: ReactNode }) {
    return <RxwireProvider<P> client={client}>{children}</RxwireProvider>;
  };
}

/** A client on a fresh FakeServer (real time: the fake's events run on asyncScheduler). */
export function fakeClient(options: ClientOptions = {}): { fake: FakeServer; client: Client } {
  const fake = new FakeServer();
  const client = createClient({
    WebSocketCtor: fake.WebSocket,
    heartbeat: false,
    autoConnect: false,
    ...options,
  });
  return { fake, client };
}

/** `ws`, recording every text frame each socket sends (to count `$cancel`s). */
export function recordingWebSocket(): { Ctor: WebSocketConstructor; sent: string[] } {
  const sent: string[] = [];
  class Recording extends WebSocket {
    override send(data: unknown, ...rest: unknown[]): void {
      if (typeof data === 'string') sent.push(data);
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  return { Ctor: Recording as unknown as WebSocketConstructor, sent };
}

/** The `type` of each recorded frame, in order. */
export function sentTypes(sent: readonly string[]): string[] {
  return sent.map((frame) => (JSON.parse(frame) as { type: string }).type);
}

/**
 * Spies on console.error (React's warnings) for one test; `messages()` are
 * what was printed, and `restore()` puts the console back.
 */
export function spyOnReactWarnings(): { messages(): string[]; restore(): void } {
  const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  return {
    messages: () => spy.mock.calls.map((args) => args.map(String).join(' ')),
    restore: () => spy.mockRestore(),
  };
}

/** The warnings the issue forbids: a snapshot React loops on, and runaway nested updates. */
export const forbiddenWarnings =
  /getSnapshot should be cached|Maximum update depth|not wrapped in act/;

/** Fails each test of the calling file that makes React print one of the {@link forbiddenWarnings}. */
export function failOnReactWarnings(): void {
  let warnings: ReturnType<typeof spyOnReactWarnings>;
  beforeEach(() => (warnings = spyOnReactWarnings()));
  afterEach(() => {
    const forbidden = warnings.messages().filter((m) => forbiddenWarnings.test(m));
    warnings.restore();
    expect(forbidden).toEqual([]);
  });
}

/**
 * Runs `body` as a browser would run it: React renders on its own schedule,
 * not batched into one act() scope (Testing Library's waitFor does the same),
 * so a test can count the renders a burst really causes.
 */
export async function asInBrowser<T>(body: () => Promise<T>): Promise<T> {
  const g = globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean | undefined };
  const saved = g.IS_REACT_ACT_ENVIRONMENT;
  g.IS_REACT_ACT_ENVIRONMENT = false;
  try {
    return await body();
  } finally {
    g.IS_REACT_ACT_ENVIRONMENT = saved;
  }
}
