// A plain round-robin TCP proxy, to put several rxwire nodes behind one port
// without sticky sessions (a cluster does not need them): each new connection
// goes to the next target; a target that refuses is skipped. For tests,
// `--cut-every <ms>` also drops every connection at that interval (an RST, as
// a network cut), so clients keep reconnecting and landing on other nodes.
//
//   node scripts/cluster-proxy.mjs --listen 8080 127.0.0.1:3001 127.0.0.1:3002 127.0.0.1:3003
//
// It prints `listening <port>` once it listens (`--listen 0` picks a free port).
import { connect, createServer } from 'node:net';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    listen: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    'cut-every': { type: 'string' },
  },
});
const targets = positionals.map((target) => {
  const [host, port] = target.includes(':') ? target.split(':') : ['127.0.0.1', target];
  return { host: host || '127.0.0.1', port: Number(port) };
});
const listen = Number(values.listen);
const cutEvery = values['cut-every'] === undefined ? 0 : Number(values['cut-every']);
if (
  targets.length === 0 ||
  targets.some((t) => !Number.isInteger(t.port) || t.port <= 0) ||
  !Number.isInteger(listen) ||
  !(cutEvery >= 0)
) {
  console.error(
    'usage: node scripts/cluster-proxy.mjs --listen 8080 [--cut-every ms] host:port host:port ...',
  );
  process.exit(2);
}

let next = 0;
const pairs = new Set();

/** Connects to the next target that accepts, trying each once. */
function upstream(client, tries = 0) {
  const target = targets[next++ % targets.length];
  const socket = connect(target);
  socket.once('connect', () => {
    if (client.destroyed) {
      socket.destroy();
      return;
    }
    const pair = { client, socket };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      socket.destroy();
    };
    client.on('close', drop);
    socket.on('close', drop);
    socket.on('error', drop);
    client.pipe(socket);
    socket.pipe(client);
  });
  socket.once('error', () => {
    socket.destroy();
    if (tries + 1 < targets.length && !client.destroyed) upstream(client, tries + 1);
    else client.destroy();
  });
}

const server = createServer({ pauseOnConnect: true }, (client) => {
  client.on('error', () => client.destroy());
  upstream(client); // the client stays paused until piped to its upstream
});
server.listen(listen, values.host, () => {
  console.log(`listening ${server.address().port}`);
});

if (cutEvery > 0) {
  const cut = () => {
    for (const { client, socket } of [...pairs]) {
      client.resetAndDestroy();
      socket.destroy();
    }
    pairs.clear();
    // A few hundred ms, give or take half, so cuts do not fall into step with the clients.
    setTimeout(cut, cutEvery * (0.5 + Math.random())).unref();
  };
  setTimeout(cut, cutEvery).unref();
}

const stop = () => {
  for (const { client, socket } of pairs) {
    client.destroy();
    socket.destroy();
  }
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
