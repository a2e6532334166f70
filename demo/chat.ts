import { concatMap, from, map, timer, type Observable } from 'rxjs';

/**
 * A stand-in for a language model: answers with a canned sentence, streamed
 * one token (a word or the space after it) at a time, like an LLM reply.
 */
export function replyTokens(text: string, delayMs = 60): Observable<{ token: string }> {
  const trimmed = text.trim().slice(0, 200);
  const reply =
    trimmed.length === 0
      ? 'Say something and I will stream an answer back, one token per frame.'
      : `You said "${trimmed}". This reply is an rxwire request stream: every word ` +
        `arrives as its own $next frame, and $complete ends it.`;
  const tokens = reply.match(/\S+\s*/g) ?? [];
  return from(tokens).pipe(concatMap((token) => timer(delayMs).pipe(map(() => ({ token })))));
}
