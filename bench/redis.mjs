// A private redis-server for the scenarios that span several server processes
// (cluster-broadcast, cluster-handover: rxwire/cluster, Socket.IO's redis
// adapter): Debian's binary on a free loopback port, persistence off, never a
// system service.
//   node bench/redis.mjs    starts one, checks it answers PING, stops it
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const BIN = process.env.REDIS_SERVER ?? 'redis-server';

/** A port the kernel just handed out on 127.0.0.1 (released at once). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * One request/answer exchange with the server on `port` (RESP inline command):
 * the answer's text, a bulk string's content without its length line.
 */
export function redisCommand(port, command) {
  return new Promise((resolve, reject) => {
    let answer = Buffer.alloc(0);
    const socket = createConnection(port, '127.0.0.1', () => socket.write(`${command}\r\n`));
    socket.setTimeout(2000, () => socket.destroy(new Error(`redis ${command}: no answer`)));
    socket.on('data', (chunk) => {
      answer = Buffer.concat([answer, chunk]);
      const line = answer.indexOf('\r\n');
      if (line < 0) return;
      let text;
      if (answer[0] !== 0x24)
        text = answer.subarray(0, line).toString('latin1'); // not '$'
      else {
        const length = Number(answer.subarray(1, line).toString('latin1'));
        if (answer.length < line + 2 + length + 2) return;
        text = answer.subarray(line + 2, line + 2 + length).toString('latin1');
      }
      socket.end();
      resolve(text);
    });
    socket.once('error', reject);
  });
}

/** Commands the server on `port` has run so far (INFO commandstats, all commands summed). */
export async function redisCalls(port) {
  const stats = await redisCommand(port, 'INFO commandstats');
  let calls = 0;
  for (const m of stats.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) calls += Number(m[1]);
  return calls;
}

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ). */
let ticksPerSecond = null;
function clockTicks() {
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  } catch {
    ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/**
 * CPU time (user + system, µs) the kernel has accounted to process `pid`,
 * every thread of it, from /proc/<pid>/stat (in clock ticks: 10 ms steps);
 * null off Linux.
 */
export function processCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14, 15
    return (ticks * 1e6) / clockTicks();
  } catch {
    return null;
  }
}

/**
 * Starts redis-server and resolves once it accepts connections (its log line
 * says so): `{url, port, cpu(), calls(), stop()}`. `cpu()` is the server's CPU
 * time so far (µs, see `processCpu`), `calls()` the commands it has run so far
 * (resolves; see `redisCalls`); `stop()` ends it and waits for its exit.
 */
export async function startRedis() {
  const port = await freePort();
  const proc = spawn(
    BIN,
    ['--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'].map(String),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${log}`)), 10_000);
    proc.once('error', reject);
    exited.then((code) => reject(new Error(`redis-server exited (${code}): ${log}`)));
    proc.stdout.on('data', (chunk) => {
      log += chunk;
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.stderr.on('data', (chunk) => (log += chunk));
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    cpu: () => processCpu(proc.pid),
    calls: () => redisCalls(port),
    async stop() {
      proc.kill('SIGTERM');
      const bound = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(bound);
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const redis = await startRedis();
  const pong = await redisCommand(redis.port, 'PING');
  await redis.stop();
  console.log(`${redis.url}: PING -> ${pong}; stopped`);
  if (pong !== '+PONG') process.exit(1);
}
