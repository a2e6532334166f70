import { fakeClient } from '../helpers/fake-client';
import { testScheduler } from '../helpers/marbles';

describe('client.audio (transport not in this version)', () => {
  it('never sends audio chunks as text and says so once through the logger', () => {
    testScheduler().run(({ flush }) => {
      const warn = jest.fn();
      const { fake, client } = fakeClient(
        {},
        { logger: { debug: jest.fn(), info: jest.fn(), warn, error: jest.fn() } },
      );
      client.connect();
      flush();
      const chunk = {
        samples: new Int16Array(320),
        sampleRate: 16000,
        channels: 1,
        seq: 0,
        timestamp: 0,
      };
      client.audio.next(chunk);
      client.audio.next({ ...chunk, seq: 1 });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatch(/audio chunks are not sent yet/);
      expect(fake.last!.sent.filter((f) => typeof f !== 'string')).toHaveLength(0);
      client.dispose();
    });
  });
});
