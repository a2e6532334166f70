// spec/react runs twice (jest.config.ts): on React 19 (the root's devDependency)
// and on React 18 (the workspace spec/react-18), the oldest the peer range allows.
import { version } from 'react';
import { version as domVersion } from 'react-dom';
import { renderToString } from 'react-dom/server';

declare const expectedReactMajor: number;

it('runs on the React its jest project is for, with a react-dom of the same version', () => {
  expect(Number(version.split('.')[0])).toBe(expectedReactMajor);
  expect(domVersion).toBe(version);
  expect(renderToString(<b>ok</b>)).toBe('<b>ok</b>');
});
