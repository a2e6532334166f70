// Compile-time checks of the typed API, enforced by `tsc --noEmit -p .` (npm run lint):
// each @ts-expect-error line must fail to type-check, and the rest must pass.
import { of } from 'rxjs';
import type { Protocol } from '../../src/protocol/index.js';
import type { RxwireServer, Session } from '../../server/index.js';

interface Chat extends Protocol {
  client: { say: { text: string } };
  server: { said: { text: string; by: string } };
  requests: { chat: { request: { text: string }; response: { token: string } } };
}

// Only called inside a function that never runs: these lines are for the compiler.
function typed(
  server: RxwireServer<Chat, { name: string }>,
  session: Session<Chat, { name: string }>,
): void {
  session.on('say').subscribe((p) => p.text.toUpperCase());
  session.send('said', { text: 'x', by: session.user.name });
  server.handle('chat', ({ text }) => of({ token: text }));
  server.broadcast('said', { text: 'x', by: 'y' }, (s) => s.user.name === 'ann');
  session.messages$.subscribe((m) => {
    if (m.type === 'say') m.payload.text.trim();
  });

  // @ts-expect-error 'shout' is not a client type
  session.on('shout');
  // @ts-expect-error 'say' is a client type, not a server type
  session.send('say', { text: 'x' });
  // @ts-expect-error payload misses `by`
  session.send('said', { text: 'x' });
  // @ts-expect-error no such request type
  server.handle('search', () => of(1));
  // @ts-expect-error the handler must stream { token: string }
  server.handle('chat', () => of({ word: 'x' }));
  // @ts-expect-error wrong broadcast payload
  server.broadcast('said', { text: 1, by: 'y' });
}

describe('typed API', () => {
  it('compiles (see the @ts-expect-error lines)', () => {
    expect(typeof typed).toBe('function');
  });
});
