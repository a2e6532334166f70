// The private redis-server the cluster tests run on: it starts on a free
// port, node-redis talks to it, a restart empties it, and stop frees the port.
import { createClient } from 'redis';
import { RedisServer, hasRedisServer } from './redis-server';

const maybe = hasRedisServer() ? it : it.skip;

maybe('starts on a free port, restarts empty, and stops', async () => {
  const redis = await RedisServer.start();
  const client = createClient({ url: redis.url });
  client.on('error', () => undefined); // reconnects while the server restarts
  try {
    await client.connect();
    await client.set('k', 'v');
    expect(await client.get('k')).toBe('v');
    await redis.restart();
    // node-redis reconnects on its own; the restarted server has no keys.
    let value: string | null = 'v';
    for (let i = 0; i < 100 && value !== null; i++) {
      try {
        value = await client.get('k');
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(value).toBeNull();
  } finally {
    client.destroy();
    await redis.stop();
  }
  expect(redis.running).toBe(false);
});
