// The demo until Ctrl-C, for `npx rxwire serve` and `npm start` (which runs it
// through the CLI, so PORT is checked the same way as --port).
import { startDemo } from './server.js';

const consoleLogger = {
  info: (message: string, context?: object) => console.log(`[rxwire] ${message}`, context ?? ''),
  warn: (message: string, context?: object) => console.warn(`[rxwire] ${message}`, context ?? ''),
  error: (message: string, context?: object) => console.error(`[rxwire] ${message}`, context ?? ''),
};

/** Runs the demo until SIGINT/SIGTERM; used by `npm start` and `npx rxwire serve`. */
export async function runDemo(port: number, secret?: string): Promise<void> {
  // RXWIRE_DEMO_BLOCK_WEBSOCKET=1 answers every upgrade 403, to try the HTTP fallback
  // (open the page with ?transports=websocket,http).
  const blockWebSocket = process.env.RXWIRE_DEMO_BLOCK_WEBSOCKET === '1';
  const demo = await startDemo({
    port,
    logger: consoleLogger,
    blockWebSocket,
    ...(secret ? { secret } : {}),
  });
  console.log(
    `rxwire demo on ${demo.url} (WebSocket at ws://localhost:${demo.port}/ws` +
      `${blockWebSocket ? ', blocked' : ''}; HTTP fallback at ${demo.url}/ws/http)`,
  );
  if (demo.secretGenerated) {
    console.log(`demo JWT secret (random; set RXWIRE_DEMO_SECRET to fix it): ${demo.secret}`);
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing sessions with 1001, then the http server`);
    await demo.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
