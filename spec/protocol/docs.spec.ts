// Documentation must not drift from the enums: every error code and close code
// the library defines is documented, and the docs name no code that does not exist.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CloseCode, ErrorCode } from '../../src/protocol/index';

const read = (file: string) => readFileSync(resolve(__dirname, '../..', file), 'utf8');
const readme = read('README.md');
const protocol = read('docs/PROTOCOL.md');
const closeCodes = Object.values(CloseCode).filter((v): v is number => typeof v === 'number');

it.each(Object.values(ErrorCode))('README documents %s', (code) => {
  expect(readme).toContain(`\`${code}\``);
});

it('the docs name only error codes that exist', () => {
  // Environment variables share the prefix; they are not error codes.
  const envVars = [
    'RXWIRE_DEMO_SECRET',
    'RXWIRE_UPDATE_DEMO_PNG',
    'RXWIRE_URL',
    'RXWIRE_DEBUG',
    'RXWIRE_CLUSTER_SECRET',
    'RXWIRE_NODE_ID',
  ];
  const known = new Set<string>([...Object.values(ErrorCode), ...envVars]);
  for (const text of [readme, protocol]) {
    for (const [code] of text.matchAll(/RXWIRE_[A-Z_]+[A-Z]/g)) expect(known).toContain(code);
  }
});

it.each(closeCodes)('README and PROTOCOL.md document close code %i', (code) => {
  const row = new RegExp(`\\|\\s*${code}\\s*\\|`);
  expect(readme).toMatch(row);
  expect(protocol).toMatch(row);
});
