// Works around npm/cli#9846: when the registry lacks some platform-specific
// optional dependencies (here, most @unrs/resolver-binding-* builds that jest's
// resolver lists), `npm install` leaves them out of package-lock.json and
// `npm ci` then rejects the lock as out of sync. Recording them as optional
// entries keeps `npm ci` working; npm skips optional packages it cannot fetch.
// Run after regenerating the lock: `node scripts/lock-optional.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const nested = `${path}/node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[nested] || packages[hoisted]) continue;
    packages[hoisted] = { version, optional: true };
    added++;
  }
}
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`${added} optional entries added to ${file}`);
