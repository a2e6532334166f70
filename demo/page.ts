/** The page's icon (served at /favicon.ico and /favicon.svg): a green status dot on the header's white. */
export const favicon =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
  '<rect width="32" height="32" rx="7" fill="#fff" stroke="#dcdfe3" stroke-width="2"/>' +
  '<circle cx="16" cy="16" r="8" fill="#1a9c3e"/></svg>';

/**
 * The demo page at `/`: plain HTML and CSS; the behaviour is demo/web/main.ts,
 * bundled by esbuild and served as `/app.js`. `scriptProblem` replaces the
 * script with an explanation when there is no page script.
 */
export function renderPage(scriptProblem?: string): string {
  const script = scriptProblem
    ? `<p class="problem" role="alert">There is no page script: ${escapeHtml(scriptProblem)}</p>`
    : '<script type="module" src="/app.js"></script>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rxwire demo</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${css}</style>
</head>
<body>
<header>
  <h1>rxwire <span class="sub">demo</span></h1>
  <div id="conn" data-status="idle">
    <span class="dot" aria-hidden="true"></span>
    <span id="status-label" role="status" aria-live="polite">not connected</span>
    <span id="latency" title="round-trip time of the last $ping/$pong"></span>
    <span id="transport" title="the transport carrying the connection: WebSocket, or the HTTP fallback (SSE down, POSTs up)"></span>
    <span id="backoff"></span>
    <button id="retry" type="button" hidden>Retry</button>
  </div>
</header>
<p id="problem" class="problem" aria-live="polite" hidden></p>
<main>
  <section id="signin">
    <h2>Sign in</h2>
    <form id="signin-form">
      <label>Name <input id="name" name="name" autocomplete="nickname" value="" placeholder="ada" maxlength="40"></label>
      <button id="signin-button" type="submit">Sign in</button>
      <button id="signout" type="button" disabled>Sign out</button>
    </form>
    <p id="who" class="muted">Sign in: <code>POST /demo/login</code> issues a short-lived JWT, and the
      client's <code>token</code> function fetches a fresh one before every connection attempt.</p>
    <p><button id="expire-token" type="button" disabled>Use an expired token</button>
      <span class="muted">reconnects with an already expired token: the server closes 4401 and the
      client retries at once with a fresh one.</span></p>
    <ol id="auth-log" class="log"></ol>
  </section>

  <section id="chat">
    <h2>Chat <span class="muted">a request stream</span></h2>
    <ol id="chat-log" class="chat"></ol>
    <form id="chat-form">
      <input id="chat-text" autocomplete="off" placeholder="Say something" value="Hello rxwire">
      <button id="chat-send" type="submit">Send</button>
      <button id="chat-stop" type="button" disabled>Stop</button>
    </form>
    <p id="queued" class="muted"></p>
  </section>

  <section id="mic">
    <h2>Microphone <span class="muted">binary audio frames</span></h2>
    <p><button id="mic-start" type="button">Start</button>
      <button id="mic-stop" type="button" disabled>Stop</button>
      <code class="small">fromMicrophone().pipe(resample(16000), toPcm16(), frames(20))</code></p>
    <div class="meter" aria-hidden="true"><div id="level-bar"></div></div>
    <p>Level <span id="level-db">–</span> <span class="muted">(RMS, from <code>level()</code>)</span></p>
    <h3>What the server received</h3>
    <dl id="server-view" class="view">
      <dt>stream</dt><dd id="view-stream">–</dd>
      <dt>seconds</dt><dd id="view-seconds">–</dd>
      <dt>frames</dt><dd id="view-frames">–</dd>
      <dt>frames/s</dt><dd id="view-fps">–</dd>
      <dt>lost</dt><dd id="view-lost">–</dd>
      <dt>reordered</dt><dd id="view-reordered">–</dd>
    </dl>
    <p id="mic-client" class="muted"></p>
    <p id="mic-error" class="problem" hidden></p>
  </section>

  <section id="presence">
    <h2>Presence</h2>
    <p><strong id="online"></strong> <span id="online-label">not connected: no count yet</span>
      <span class="muted">(broadcast by the server when a session joins or leaves)</span></p>
  </section>

  <section id="outage">
    <h2>Outage</h2>
    <p><button id="outage-drop" type="button">Drop all connections</button>
      <span class="muted">closes every session with 1012; clients come back after a backoff.</span></p>
    <p><button id="outage-refuse" type="button">Refuse connections</button> for
      <input id="outage-seconds" type="number" min="1" max="120" value="5" size="3"> s
      <span class="muted">closes every session with 1013 and answers upgrades with 503 meanwhile;
      watch the attempts, and send a chat message: it waits in the queue.</span></p>
    <p id="outage-result" class="muted"></p>
  </section>

  <section id="events">
    <h2>Connection events</h2>
    <ol id="event-log" class="log"></ol>
  </section>
</main>
${script}
</body>
</html>
`;
}

/** Text made safe inside HTML. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** The page's stylesheet, shared with the React page (demo/react/page.ts). */
export const css = `
:root { --green: #1a9c3e; --yellow: #d9a400; --red: #d2342c; --gray: #7b7f86; --line: #dcdfe3; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2128; background: #f6f7f9; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1.2rem;
  background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; }
h1 { font-size: 1.25rem; margin: 0; } h1 .sub { font-weight: 400; color: var(--gray); }
h2 { font-size: 1.05rem; margin: 0 0 .5rem; } h3 { font-size: .95rem; margin: .8rem 0 .3rem; }
#conn { display: flex; align-items: center; gap: .6rem; }
.dot { width: .8rem; height: .8rem; border-radius: 50%; background: var(--gray); display: inline-block; }
#conn[data-status=connected] .dot { background: var(--green); }
#conn[data-status=connecting] .dot, #conn[data-status=reconnecting] .dot,
#conn[data-status=disconnecting] .dot { background: var(--yellow); }
#conn[data-status=disconnected] .dot { background: var(--red); }
#conn[data-status=error] .dot { background: var(--gray); }
#conn[data-status=idle] .dot { background: transparent; border: 2px solid var(--gray); }
#status-label { font-weight: 600; }
#latency, #transport, #backoff { color: #4a5058; font-variant-numeric: tabular-nums; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 1rem; padding: 1rem 1.2rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: .5rem; padding: .8rem 1rem; }
.muted { color: var(--gray); font-size: .9em; } .small { font-size: .8em; }
.problem { margin: .6rem 1.2rem 0; padding: .5rem .8rem; border-radius: .4rem; background: #fff4e5;
  border: 1px solid #f0c27a; }
section .problem { margin: .5rem 0 0; }
button { font: inherit; padding: .25rem .7rem; border-radius: .35rem; border: 1px solid #b9bec5; background: #fff; cursor: pointer; }
button:disabled { opacity: .45; cursor: default; }
input { font: inherit; padding: .25rem .4rem; border: 1px solid #b9bec5; border-radius: .35rem; }
#chat-text { width: 60%; }
.log { margin: .4rem 0 0; padding-left: 1.4rem; font-size: .85em; max-height: 12rem; overflow: auto; }
.chat { list-style: none; padding: 0; margin: 0 0 .6rem; max-height: 18rem; overflow: auto; }
.chat li { margin: .3rem 0; padding: .35rem .6rem; border-radius: .5rem; }
.chat li.me { background: #e8f0fe; margin-left: 3rem; }
.chat li.bot { background: #f1f3f4; margin-right: 3rem; }
.chat li .note { display: block; color: var(--gray); font-size: .8em; }
.chat .tok { border-bottom: 1px dotted #c4c8ce; }
.meter { height: .8rem; background: #eceef1; border-radius: .4rem; overflow: hidden; }
#level-bar { height: 100%; width: 0; background: linear-gradient(90deg, var(--green), var(--yellow) 80%, var(--red)); transition: width 60ms linear; }
.view { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: 0; font-variant-numeric: tabular-nums; }
.view dt { color: var(--gray); } .view dd { margin: 0; }
`;
