#!/usr/bin/env node
// `npx rxwire stream <file.wav>` streams a WAV file to an rxwire server as
// binary audio frames; `npx rxwire serve` runs the demo server. Arguments and
// the input file are checked before anything connects or listens; every
// problem is one line on stderr, never a stack trace.
import { ErrorCode } from '../src/index.js';
import { parseCommandLine, usage } from './args.js';
import { readWav, streamWav } from './stream.js';

/** Runs the CLI; resolves with the exit code, or -1 while `serve` keeps running. */
export async function main(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
): Promise<number> {
  const parsed = parseCommandLine(argv, process.env);
  if (!parsed.ok) {
    for (const line of parsed.errors) err.write(`rxwire: ${line}\n`);
    return 2;
  }
  const { command } = parsed;
  switch (command.kind) {
    case 'help':
      out.write(`${usage}\n`);
      return 0;
    case 'usage':
      err.write(`${usage}\n`);
      return 2;
    case 'serve':
      return serve(command.port, command.cluster, err);
    case 'stream': {
      const input = await readWav(command.file, command.frameMs);
      if (typeof input === 'string') {
        err.write(`rxwire: ${input}\n`);
        return 2;
      }
      return streamWav(input, { ...command, out, err });
    }
  }
}

async function serve(
  port: number,
  cluster: string | undefined,
  err: NodeJS.WritableStream,
): Promise<number> {
  try {
    const { runDemo } = await import('../demo/main.js');
    await runDemo(port, process.env.RXWIRE_DEMO_SECRET, cluster);
    return -1; // keeps running until a signal
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if (code === 'MODULE_NOT_FOUND' && /'express'/.test(message ?? '')) {
      err.write('rxwire: rxwire serve needs express: npm install express@5\n');
      return 1;
    }
    if (code === ErrorCode.InvalidOption) {
      err.write(`rxwire: ${message}\n`);
      return 2;
    }
    const listenProblems: Record<string, string> = {
      EADDRINUSE:
        'another program listens on it; pick another with --port, or --port 0 for a free one',
      EACCES: 'permission denied; ports below 1024 need privileges, pick another with --port',
    };
    const problem = code !== undefined ? listenProblems[code] : undefined;
    err.write(
      problem
        ? `rxwire: cannot listen on port ${port}: ${code}: ${problem}\n`
        : `rxwire: serve failed: ${message ?? String(error)}\n`,
    );
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (error: unknown) => {
      // A bug, not a user error: one line, and the stack only on request.
      process.stderr.write(`rxwire: ${(error as Error)?.message ?? String(error)}\n`);
      if (process.env.RXWIRE_DEBUG) process.stderr.write(`${(error as Error)?.stack}\n`);
      process.exitCode = 1;
    },
  );
}
