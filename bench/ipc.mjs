// IPC with a forked bench process (server.mjs, client.mjs).

/** The next message from `proc` that carries `key`. */
export function nextMessage(proc, key) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m[key] === undefined) return;
      proc.off('message', on);
      resolve(m);
    };
    proc.on('message', on);
  });
}
