/** The placeholder page at `/`: what rxwire is, and a tiny raw-protocol chat to prove the server works. */
export const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rxwire demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
  code { background: #f3f3f3; padding: 0 .2em; }
  #log { white-space: pre-wrap; border: 1px solid #ccc; min-height: 6rem; padding: .5rem; }
</style>
</head>
<body>
<h1>rxwire</h1>
<p>rxwire is a reactive WebSocket streaming layer for TypeScript on RxJS 7: a reconnecting,
typed client; a session server on <code>ws</code> + Express (this process); audio operators;
and a marble-testing kit. Every stream on both sides is an Observable.</p>
<p>The full demo page comes in a later release. For now this server speaks the rxwire protocol at
<code>/ws</code>, issues short-lived demo tokens at <code>POST /demo/login</code>, and answers the
<code>chat</code> request by streaming a reply token by token. Try it:</p>
<p><input id="text" value="hello rxwire" size="30"> <button id="send">Send</button> <span id="status">connecting…</span></p>
<div id="log"></div>
<script>
(async () => {
  const $ = (id) => document.getElementById(id);
  const now = () => new Date().toISOString();
  let n = 0;
  const id = () => 'page.' + (++n);
  const { token } = await (await fetch('/demo/login', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"page"}',
  })).json();
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
  const send = (type, payload, extra) => ws.send(JSON.stringify({ type, id: id(), payload, timestamp: now(), ...extra }));
  ws.onopen = () => send('$hello', { v: 1, token, client: 'demo-page' });
  ws.onclose = (e) => { $('status').textContent = 'closed ' + e.code + ' ' + e.reason; };
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === '$welcome') $('status').textContent = 'connected as ' + m.payload.sessionId;
    else if (m.type === 'presence') $('status').textContent = m.payload.online + ' online';
    else if (m.type === '$next') $('log').textContent += m.payload.token;
    else if (m.type === '$complete') $('log').textContent += '\\n';
    else if (m.type === '$error') $('log').textContent += '\\n[error ' + m.payload.code + '] ' + m.payload.message + '\\n';
  };
  $('send').onclick = () => send('chat', { text: $('text').value }, { request: true });
})();
</script>
</body>
</html>
`;
