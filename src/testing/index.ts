// The `rxwire/testing` entry point: fakes for marble-testing code that uses the client.
export { FakeServer, FakeWebSocket, type FakeServerOptions } from './fake-websocket.js';
