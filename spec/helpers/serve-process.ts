// Runs `rxwire serve` in a child process and reads the URL it prints.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  /** The `http://localhost:<port>` the start line names; rejects after 30 s without one. */
  url: Promise<string>;
  /** The exit code (null when killed by a signal it did not handle). */
  exited: Promise<number | null>;
}

/** Spawns `command args` (the built bin, or an installed one) and waits for its start line. */
export function startServe(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ServeProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
  });
  const url = new Promise<string>((done, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`no start line in: ${out}`)), 30_000);
    const read = (d: Buffer): void => {
      out += d.toString();
      const m = /rxwire demo on (http:\/\/localhost:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        done(m[1]!);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', () => {
      clearTimeout(timer);
      fail(new Error(`rxwire serve exited before its start line: ${out}`));
    });
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return { child, url, exited };
}
