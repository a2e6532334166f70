import { Writable } from 'node:stream';
import { WriteCoalescer } from '../../src/protocol/coalesce.js';

/** A Writable that records how its writes arrive: one entry per `_write`/`_writev` call. */
function recordingStream(): { stream: Writable; calls: string[][] } {
  const calls: string[][] = [];
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string, _encoding, done) {
      calls.push([chunk]);
      done();
    },
    writev(chunks, done) {
      calls.push(chunks.map(({ chunk }) => chunk as string));
      done();
    },
  });
  return { stream, calls };
}

const endOfTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('WriteCoalescer', () => {
  it('holds the writes of one turn and sends them together, in order, at its end', async () => {
    const writes = new WriteCoalescer();
    const { stream, calls } = recordingStream();
    for (const frame of ['a', 'b', 'c']) {
      writes.hold(stream);
      stream.write(frame);
    }
    expect(calls).toEqual([]);
    expect(stream.writableCorked).toBe(1);
    await endOfTurn();
    expect(calls).toEqual([['a', 'b', 'c']]);
    expect(stream.writableCorked).toBe(0);

    writes.hold(stream);
    stream.write('d');
    await endOfTurn();
    expect(calls).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('flushes every stream it holds with one microtask', async () => {
    const writes = new WriteCoalescer();
    const one = recordingStream();
    const two = recordingStream();
    writes.hold(one.stream);
    one.stream.write('1a');
    writes.hold(two.stream);
    two.stream.write('2a');
    writes.hold(one.stream);
    one.stream.write('1b');
    await Promise.resolve();
    expect(one.calls).toEqual([['1a', '1b']]);
    expect(two.calls).toEqual([['2a']]);
  });

  it('leaves a stream someone else corked to their uncork', async () => {
    const writes = new WriteCoalescer();
    const { stream, calls } = recordingStream();
    stream.cork();
    writes.hold(stream);
    stream.write('x');
    await endOfTurn();
    expect(calls).toEqual([]);
    expect(stream.writableCorked).toBe(1);
    stream.uncork();
    expect(calls).toEqual([['x']]);
  });

  it('release() sends at once, before a destroy', async () => {
    const writes = new WriteCoalescer();
    const { stream, calls } = recordingStream();
    stream.on('error', () => undefined);
    writes.hold(stream);
    stream.write('last words');
    writes.release(stream);
    expect(calls).toEqual([['last words']]);
    writes.release(stream); // nothing held: nothing to do
    stream.destroy();
    await endOfTurn();
    expect(calls).toEqual([['last words']]);
  });

  it('is harmless on a stream destroyed while held', async () => {
    const writes = new WriteCoalescer();
    const { stream, calls } = recordingStream();
    stream.on('error', () => undefined);
    writes.hold(stream);
    stream.write('lost');
    stream.destroy();
    await endOfTurn();
    expect(calls).toEqual([]);
    expect(stream.destroyed).toBe(true);
  });
});
