import type { Protocol } from '../src/protocol/index.js';

/** The demo's application protocol, shared by its server and (later) its page. */
export interface DemoProtocol extends Protocol {
  client: { typing: { on: boolean } };
  server: { presence: { online: number } };
  requests: { chat: { request: { text: string }; response: { token: string } } };
}
