// The demo's protocol, registered once: every rxwire/react hook in the page
// is typed by it (message types, payloads, request and response shapes).
import type { DemoProtocol } from '../protocol.js';

declare module '../../src/react/index.js' {
  interface Register {
    protocol: DemoProtocol;
  }
}
