// The microphone panel: useMicrophone pipes fromMicrophone() through
// resample(16000), toPcm16() and frames(20) into client.audio; the server
// answers with what it received (`audio_view`), shown beside the level meter.
import { useRef } from 'react';
import { useLatestMessage, useMicrophone } from '../../src/react/index.js';
import { micAdvice } from '../web/explain.js';

export function Microphone() {
  const streams = useRef(0);
  const mic = useMicrophone({
    sampleRate: 16_000,
    frameMs: 20,
    // A new stream per Start: the server counts sequence numbers per stream.
    streamId: () => ++streams.current,
    meterMs: 50,
  });
  const view = useLatestMessage('audio_view');
  const percent =
    mic.level === undefined ? 0 : Math.max(0, Math.min(100, ((mic.level + 60) / 60) * 100));
  const { stats } = mic;
  return (
    <section id="mic">
      <h2>
        Microphone <span className="muted">binary audio frames</span>
      </h2>
      <p>
        <button id="mic-start" type="button" onClick={mic.start} disabled={mic.active}>
          Start
        </button>{' '}
        <button id="mic-stop" type="button" onClick={mic.stop} disabled={!mic.active}>
          Stop
        </button>{' '}
        <code className="small">useMicrophone(&#123; sampleRate: 16000, frameMs: 20 &#125;)</code>
      </p>
      <div className="meter" aria-hidden="true">
        <div id="level-bar" style={{ width: `${percent.toFixed(0)}%` }} />
      </div>
      <p>
        Level{' '}
        <span id="level-db" data-db={mic.level?.toFixed(1)}>
          {mic.level === undefined ? '–' : `${mic.level.toFixed(1)} dBFS`}
        </span>{' '}
        <span className="muted">(RMS of the latest frame)</span>
      </p>
      <h3>What the server received</h3>
      <dl id="server-view" className="view" data-view={view ? JSON.stringify(view) : undefined}>
        <dt>stream</dt>
        <dd>{view ? `#${view.streamId} at ${view.sampleRate} Hz` : '–'}</dd>
        <dt>seconds</dt>
        <dd>{view ? view.seconds.toFixed(1) : '–'}</dd>
        <dt>frames</dt>
        <dd>{view ? view.frames : '–'}</dd>
        <dt>frames/s</dt>
        <dd>{view ? view.framesPerSecond.toFixed(1) : '–'}</dd>
        <dt>lost</dt>
        <dd id="view-lost">{view ? view.lost : '–'}</dd>
        <dt>reordered</dt>
        <dd>{view ? view.reordered : '–'}</dd>
      </dl>
      <p id="mic-client" className="muted">
        {`client: stream #${stats.streamId}, ${stats.frames} frames captured, ${stats.sent} sent, ` +
          `${stats.droppedOffline} dropped while offline, ${stats.droppedBackpressure} dropped for backpressure`}
      </p>
      {mic.error && (
        <p id="mic-error" className="problem" data-code={mic.error.code}>
          {micAdvice(mic.error)}
        </p>
      )}
    </section>
  );
}
