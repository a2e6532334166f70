// The React page's entry (bundled by esbuild when the demo starts, served as
// /react.js): the App in StrictMode, so every effect runs twice in
// development and the page still holds exactly one connection.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from the page');
createRoot(root).render(
  <StrictMode>
    <App search={location.search} />
  </StrictMode>,
);
