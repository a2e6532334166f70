// The chat panel: a `chat` request stream per message with useRequest; the
// reply streams in token by token, Stop (or a new message) cancels it on the
// server, and earlier replies stay in the log as they ended.
import { useState, type FormEvent } from 'react';
import { useConnectionState, useRequest, type RequestStatus } from '../../src/react/index.js';
import { requestAdvice } from '../web/explain.js';

/** One exchange in the log: what was sent, and the reply as it ended (the live one has none yet). */
interface Exchange {
  id: number;
  text: string;
  queued: boolean;
  ended?: { tokens: string[]; state: string; note?: string };
}

/** The `data-state` of a reply bubble, as the plain page names it. */
function replyState(status: RequestStatus, stopped: boolean): string {
  if (status === 'submitted') return 'waiting';
  if (status === 'ready') return stopped ? 'stopped' : 'complete';
  return status;
}

const STOPPED_NOTE = 'stopped: $cancel sent, the server stopped the handler';

export function Chat() {
  const [text, setText] = useState('Hello rxwire');
  const [log, setLog] = useState<Exchange[]>([]);
  const queued = useConnectionState((s) => s.queued);
  const connected = useConnectionState((s) => s.status === 'connected');
  const reply = useRequest('chat', {
    reduce: (tokens: string[], { token }) => [...tokens, token],
    initial: [],
  });
  const live = replyState(reply.status, reply.stopped);

  const send = (event: FormEvent) => {
    event.preventDefault();
    const message = text.trim();
    if (!message) return;
    // The reply in progress ends here (start() cancels it); keep it as it is.
    setLog((previous) => [
      ...previous.map((e) =>
        e.ended
          ? e
          : {
              ...e,
              ended: {
                tokens: reply.data,
                state: live === 'streaming' || live === 'waiting' ? 'stopped' : live,
                ...(live === 'streaming' || live === 'waiting' ? { note: STOPPED_NOTE } : {}),
              },
            },
      ),
      { id: previous.length, text: message, queued: !connected },
    ]);
    reply.start({ text: message });
    setText('');
  };

  const note = (exchange: Exchange): string | undefined => {
    if (exchange.ended) return exchange.ended.note;
    if (reply.status === 'error') return requestAdvice(reply.error);
    if (reply.stopped) return STOPPED_NOTE;
    if (reply.status === 'submitted' && exchange.queued) {
      return 'queued: goes out when the connection is back';
    }
    return undefined;
  };

  return (
    <section id="chat">
      <h2>
        Chat <span className="muted">a request stream</span>
      </h2>
      <ol id="chat-log" className="chat">
        {log.map((exchange) => {
          const tokens = exchange.ended?.tokens ?? reply.data;
          const shownNote = note(exchange);
          return [
            <li key={`me-${exchange.id}`} className="me">
              {exchange.text}
            </li>,
            <li
              key={`bot-${exchange.id}`}
              className="bot"
              data-state={exchange.ended?.state ?? live}
            >
              {tokens.map((token, i) => (
                <span key={i} className="tok">
                  {token}
                </span>
              ))}
              {shownNote && <span className="note">{shownNote}</span>}
            </li>,
          ];
        })}
      </ol>
      <form id="chat-form" onSubmit={send}>
        <input
          id="chat-text"
          autoComplete="off"
          placeholder="Say something"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />{' '}
        <button id="chat-send" type="submit">
          Send
        </button>{' '}
        <button
          id="chat-stop"
          type="button"
          onClick={reply.stop}
          disabled={reply.status !== 'submitted' && reply.status !== 'streaming'}
        >
          Stop
        </button>
      </form>
      <p id="queued" className="muted">
        {queued > 0
          ? `${queued} message${queued === 1 ? '' : 's'} queued until the connection is back`
          : ''}
      </p>
    </section>
  );
}
