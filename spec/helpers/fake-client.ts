import { createClient, type ClientOptions, type Protocol, type AnyProtocol } from '../../src/index';
import { FakeServer, type FakeServerOptions } from '../../src/testing/index';

/** A client on a FakeServer; connect is left to the test (autoConnect false, no heartbeat). */
export function fakeClient<P extends Protocol = AnyProtocol>(
  serverOptions: FakeServerOptions = {},
  options: ClientOptions<P['server']> = {},
) {
  const fake = new FakeServer(serverOptions);
  const client = createClient<P>({
    url: 'ws://fake.test/ws',
    WebSocketCtor: fake.WebSocket,
    autoConnect: false,
    heartbeat: false,
    ...options,
  });
  return { fake, client };
}
