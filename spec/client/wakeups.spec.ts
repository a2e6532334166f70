import { browserWakeups } from '../../src/client/wakeups';

describe('browser wake-ups', () => {
  const g = globalThis as Record<string, unknown>;

  afterEach(() => {
    delete g.addEventListener;
    delete g.removeEventListener;
    delete g.document;
  });

  it('never emits outside a browser', () => {
    const next = jest.fn();
    const sub = browserWakeups().subscribe({ next });
    expect(next).not.toHaveBeenCalled();
    sub.unsubscribe();
  });

  it('emits on online and on visibilitychange to visible, and removes its listeners', () => {
    const win = new EventTarget();
    const doc = Object.assign(new EventTarget(), { visibilityState: 'hidden' });
    g.addEventListener = win.addEventListener.bind(win);
    g.removeEventListener = win.removeEventListener.bind(win);
    g.document = doc;
    const next = jest.fn();
    const sub = browserWakeups().subscribe({ next });
    win.dispatchEvent(new Event('online'));
    doc.dispatchEvent(new Event('visibilitychange')); // still hidden: ignored
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(next).toHaveBeenCalledTimes(2);
    sub.unsubscribe();
    win.dispatchEvent(new Event('online'));
    expect(next).toHaveBeenCalledTimes(2);
  });
});
