// The README's microphone example, verbatim between the region markers
// (spec/docs/readme-blocks.spec.ts checks it): buttons, a meter and the
// stats line are what the example leaves to the page.
import { share } from 'rxjs';
import { fromMicrophone, resample, toPcm16, frames, level } from 'rxwire/audio';
import { createClient } from 'rxwire';

const button = (id: string): HTMLButtonElement => {
  const element = document.createElement('button');
  element.id = id;
  element.textContent = id;
  document.body.append(element);
  return element;
};
const micButton = button('mic');
const stopButton = button('stop');
const output = document.createElement('pre');
output.id = 'stats';
document.body.append(output);
let lastRms: number | undefined;
const meter = { set: (rms: number) => (lastRms = rms) };
const show = (sent: number, droppedOffline: number, droppedBackpressure: number) => {
  output.textContent = JSON.stringify({ sent, droppedOffline, droppedBackpressure, lastRms });
};
const client = createClient({ reconnect: false });

// #region readme-mic
// Start from a user gesture (a click): browsers only start audio then.
micButton.onclick = () => {
  // share(): one microphone for both subscribers (fromMicrophone is cold)
  const mic = fromMicrophone({ frameMs: 20 }).pipe(share());
  const streaming = mic.pipe(resample(16000), toPcm16(), frames(20)).subscribe(client.audio);
  streaming.add(mic.pipe(level()).subscribe(({ rms }) => meter.set(rms))); // dBFS for a meter
  stopButton.onclick = () => streaming.unsubscribe(); // stops the tracks, closes the AudioContext
};
client.audioStats$.subscribe((s) => show(s.sent, s.droppedOffline, s.droppedBackpressure));
// #endregion
