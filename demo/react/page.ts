// The React page at `/react`: the plain page's stylesheet, a root for React,
// and the bundled demo/react/main.tsx served as `/react.js`.
import { css, escapeHtml } from '../page.js';

/** <ConnectionStatus /> is unstyled: the page colours it by its data attributes. */
const statusCss = `
.conn { display: flex; align-items: center; gap: .6rem; }
.conn::before { content: ''; width: .8rem; height: .8rem; border-radius: 50%; display: inline-block; }
.conn[data-tone=green]::before { background: var(--green); }
.conn[data-tone=yellow]::before { background: var(--yellow); }
.conn[data-tone=red]::before { background: var(--red); }
.conn[data-tone=gray]::before { background: var(--gray); }
.conn [data-part=label] { font-weight: 600; }
.conn [data-part=latency], .conn [data-part=attempt] { color: #4a5058; font-variant-numeric: tabular-nums; }
`;

/**
 * The HTML of `/react`; `scriptProblem` replaces the script with an
 * explanation when the bundle could not be built.
 */
export function renderReactPage(scriptProblem?: string): string {
  const script = scriptProblem
    ? `<p class="problem" role="alert">The page script could not be built: ${escapeHtml(scriptProblem)}</p>`
    : '<script type="module" src="/react.js"></script>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rxwire React demo</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${css}${statusCss}</style>
</head>
<body>
<div id="root"></div>
${script}
</body>
</html>
`;
}
