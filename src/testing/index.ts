// The `rxwire/testing` entry point: fakes for marble-testing code that uses the client.
export {
  FakeServer,
  FakeWebSocket,
  RunawayClockError,
  type FakeServerOptions,
  type FakeSession,
} from './fake-websocket.js';
