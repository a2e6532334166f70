// A session's state as a plain record: exported on one server core, read back
// through JSON and imported on another, it resends exactly the frames the
// client has not acknowledged and keeps numbering where it stopped.
import { firstValueFrom } from 'rxjs';
import { ErrorCode, type Protocol } from '../../src/protocol/index.js';
import { ServerCore } from '../../server/core.js';
import { exportRecord, importRecord, validateRecord } from '../../server/handover.js';
import type { ServerSession } from '../../server/session.js';
import { FakeSocket, helloFake } from '../helpers/server-fake-socket.js';
import { envelope } from '../helpers/server-harness.js';

interface Chat extends Protocol {
  client: { say: { text: string } };
  server: { said: { text: string } };
}

const cores: ServerCore<Chat>[] = [];
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.shutdown()));
});

function core(): ServerCore<Chat> {
  const made = new ServerCore<Chat>({ heartbeat: false });
  cores.push(made);
  return made;
}

async function sessionWithTraffic() {
  const a = core();
  const opened = firstValueFrom(a.sessions$);
  const peer = await helloFake(a, {});
  const session = (await opened) as unknown as ServerSession<never, unknown>;
  const typed = session as unknown as ServerSession<Chat>;
  typed.send('said', { text: 'one' });
  typed.send('said', { text: 'two' });
  typed.send('said', { text: 'three' });
  peer.send(envelope('say', { text: 'a' }, { seq: 1 }));
  peer.send(envelope('say', { text: 'b' }, { seq: 2, ack: 1 })); // acknowledges 'one'
  return { session, peer };
}

it('round-trips through JSON: the new session resends the unacknowledged frames verbatim', async () => {
  const { session, peer } = await sessionWithTraffic();
  const sent = peer.socket.sent.filter((f) => f.includes('"said"'));
  const record = validateRecord(JSON.parse(JSON.stringify(exportRecord(session))));
  expect(record).toMatchObject({
    id: session.id,
    resumes: 0,
    transport: 'websocket',
    delivery: { nextSeq: 4, peerAck: 1, received: 2, resent: 0, duplicates: 0 },
  });
  expect(record.delivery.unacked).toEqual(sent.slice(1));

  const b = core();
  const socket = new FakeSocket();
  const link = {
    send: (text: string) => socket.send(text),
    close: () => undefined,
    report: () => undefined,
  };
  const moved = importRecord(
    record,
    link,
    b,
    { url: '/ws', headers: {}, socket: undefined as never, ip: '' },
    'node-a',
  );
  expect(moved.id).toBe(session.id);
  expect(moved.movedFrom).toBe('node-a');
  expect(moved.received).toBe(2);
  expect(moved.delivery).toMatchObject({ unacked: 2, received: 2, resumes: 1 });
  moved.resend();
  expect(socket.sent).toEqual(sent.slice(1));
  // Numbering continues: the next frame is seq 4, and the client's ack 3 frees 'two' and 'three'.
  (moved as unknown as ServerSession<Chat>).send('said', { text: 'four' });
  expect(JSON.parse(socket.sent.at(-1)!)).toMatchObject({ seq: 4, payload: { text: 'four' } });
  expect(moved.acknowledged(3)).toBe(true);
  expect(moved.delivery.unacked).toBe(1);
  expect(moved.admit(3)).toBe(true); // the client's next message
  expect(moved.admit(2)).toBe(false); // a repeat
});

it('refuses a record that is not one, naming what is wrong', () => {
  const good = {
    v: 1,
    id: 's1',
    user: null,
    userKey: 'j:null',
    resumes: 0,
    transport: 'websocket',
    delivery: { nextSeq: 2, peerAck: 0, received: 0, unacked: ['{}'], resent: 0, duplicates: 0 },
  };
  expect(validateRecord(good)).toEqual(good);
  const cases: Array<[unknown, RegExp]> = [
    [null, /not an object/],
    [{ ...good, v: 2 }, /version 2/],
    [{ ...good, id: '' }, /id/],
    [{ ...good, transport: 'carrier pigeon' }, /transport/],
    [{ ...good, delivery: { ...good.delivery, nextSeq: 5 } }, /nextSeq/],
    [{ ...good, delivery: { ...good.delivery, unacked: [1] } }, /unacked/],
    [{ ...good, delivery: { ...good.delivery, received: -1 } }, /counters/],
  ];
  for (const [value, message] of cases) {
    expect(() => validateRecord(value)).toThrow(
      expect.objectContaining({
        code: ErrorCode.SessionLost,
        message: expect.stringMatching(message),
      }),
    );
  }
});
