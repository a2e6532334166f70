// Renders bench/results.json: the table run.mjs prints, the targets of issues 20
// and 17 against it, and the generated blocks of README.md and bench/README.md.
//   node bench/table.mjs            print the table and the targets
//   node bench/table.mjs <file>     the same for another results file (run.mjs --out=<file>)
//   node bench/table.mjs --write    also rewrite the blocks between
//                                   <!-- bench:results --> and <!-- /bench:results -->
//                                   in README.md and bench/README.md
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const COLUMNS = [
  ['raw ws', 'raw_ws'],
  ['raw envelope', 'raw_envelope'],
  ['rxwire', 'rxwire'],
  ['Socket.IO', 'socketio'],
  ['rxwire-http', 'rxwire_http'],
];
const RATIOS = [
  ['rx/raw', 'rxwire_vs_raw'],
  ['rx/env', 'rxwire_vs_raw_envelope'],
  ['rx/sio', 'rxwire_vs_socketio'],
  ['http/raw', 'rxwire_http_vs_raw'],
];

function fmt(v) {
  if (v == null) return 'n/a';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(2);
}

/** The results table as lines of text: one row per scenario, median (min–max) per stack. */
export function formatTable(report) {
  const range = (e, k) =>
    e.runs > 1 && e.min[k] != null ? ` (${fmt(e.min[k])}–${fmt(e.max[k])})` : '';
  const rows = [
    ['scenario', 'unit', ...COLUMNS.map(([h]) => h), ...RATIOS.map(([h]) => h)],
    ...report.scenarios.map((e) => [
      e.name,
      e.unit,
      ...COLUMNS.map(([, k]) => fmt(e[k]) + range(e, k)),
      ...RATIOS.map(([, k]) => (e[k] == null ? '' : e[k].toFixed(2))),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const { runs } = report.config;
  const lines = [
    `${report.machine}; Node ${report.node}; bufferutil ${report.bufferutil ? 'yes' : 'no'}; ${runs} run(s) per stack${runs > 1 ? ', median (min–max)' : ''}${report.mode === 'quick' ? ' [--quick: short windows]' : ''}`,
  ];
  for (const [i, r] of rows.entries()) {
    lines.push(
      r
        .map((c, j) => (j < 2 ? c.padEnd(widths[j]) : c.padStart(widths[j])))
        .join('  ')
        .trimEnd(),
    );
    if (i === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  return lines;
}

// The targets of issues 20 and 17: [what, scenario, rxwire's ratio to this column (null:
// rxwire's own figure), bound, at least?, which rows it applies to (default: all)]
const TARGETS = [
  ['echo 64 B ≥ 0.95 × raw envelope', 'echo-64B', 'raw_envelope', 0.95, true],
  ['echo 3,200 B ≥ 0.95 × raw envelope', 'echo-3200B', 'raw_envelope', 0.95, true],
  ['echo 64 B ≥ 1.25 × Socket.IO', 'echo-64B', 'socketio', 1.25, true],
  ['echo 3,200 B ≥ 1.25 × Socket.IO', 'echo-3200B', 'socketio', 1.25, true],
  ['echo 64 B p99 ≤ 1.3 × raw ws', 'echo-64B p99', 'raw_ws', 1.3, false],
  ['echo 3,200 B p99 ≤ 1.3 × raw ws', 'echo-3200B p99', 'raw_ws', 1.3, false],
  ['echo 64 B server CPU ≤ 1.25 × raw ws', 'echo-64B server-cpu', 'raw_ws', 1.25, false],
  ['echo 3,200 B server CPU ≤ 1.25 × raw ws', 'echo-3200B server-cpu', 'raw_ws', 1.25, false],
  ['fanout ≥ 0.8 × raw ws', 'fanout', 'raw_ws', 0.8, true],
  ['fanout ≥ 2 × Socket.IO', 'fanout', 'socketio', 2, true],
  ['token-stream ≥ 0.8 × raw ws', 'token-stream', 'raw_ws', 0.8, true],
  ['token-stream ≥ 1.5 × Socket.IO', 'token-stream', 'socketio', 1.5, true],
  ['idle memory ≤ 1.3 × raw ws', 'idle-memory', 'raw_ws', 1.3, false],
  ['audio-flood ≥ 1.0 × raw ws', 'audio-flood', 'raw_ws', 1.0, true],
  ['cluster-broadcast ≥ 2 × Socket.IO + redis-adapter', 'cluster-broadcast', 'socketio', 2, true],
  [
    'cluster-handover p99 ≤ 50 ms, 1,000 sessions',
    'cluster-handover p99',
    null,
    50,
    false,
    (e) => e.sessions === 1000,
  ],
];

/**
 * Each target that this report measured: {target, ratio, shown, met}. `ratio`
 * is rxwire ÷ the column, or rxwire's own figure for a bound on it (then
 * `shown` has its unit).
 */
export function checkTargets(report) {
  const out = [];
  for (const [target, name, column, bound, atLeast, applies = () => true] of TARGETS) {
    const e = report.scenarios.find((s) => s.name === name);
    if (!e || e.rxwire == null || !applies(e)) continue;
    if (column !== null && (e[column] == null || e[column] === 0)) continue;
    const ratio = column === null ? e.rxwire : e.rxwire / e[column];
    const shown = column === null ? `${fmt(ratio)} ${e.unit.split(' ')[0]}` : ratio.toFixed(2);
    out.push({ target, ratio, shown, met: atLeast ? ratio >= bound : ratio <= bound });
  }
  return out;
}

/** The generated README block: what ran, the table, the targets. */
export function readmeBlock(report) {
  const when = report.date.replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
  const mode = report.mode === 'default' ? '' : ` -- --${report.mode}`;
  const targets = checkTargets(report);
  return [
    `\`npm run bench${mode}\` on ${when} at commit \`${report.commit}\`` +
      `${report.src_changes_uncommitted ? ' (with uncommitted changes to src/ or server/)' : ''}, ` +
      `${report.seconds} s: ${report.machine}, Node ${report.node}, ` +
      `${report.bufferutil ? 'with' : 'no'} \`bufferutil\`; ${report.config.runs} alternated runs per stack, median (min–max).`,
    '',
    '```text',
    ...formatTable(report).slice(1),
    '```',
    ...(targets.length === 0
      ? []
      : [
          '',
          'Targets (issues 20 and 17), rxwire against the column named (or its own figure), in this run:',
          '',
          '| target | rxwire ÷ column | met |',
          '| --- | --- | --- |',
          ...targets.map((t) => `| ${t.target} | ${t.shown} | ${t.met ? 'yes' : 'no'} |`),
        ]),
  ].join('\n');
}

/**
 * Replaces the text between the bench:results markers of `file` with `block`,
 * then formats the file with the repository's Prettier settings (so `npm run
 * lint` stays clean).
 */
export async function writeBlock(file, block) {
  const text = readFileSync(file, 'utf8');
  const start = '<!-- bench:results -->';
  const end = '<!-- /bench:results -->';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${file} has no ${start} … ${end} block`);
  const prettier = await import('prettier');
  const options = { ...(await prettier.resolveConfig(file)), filepath: file };
  const updated = `${text.slice(0, i + start.length)}\n${block}\n${text.slice(j)}`;
  writeFileSync(file, await prettier.format(updated, options));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const here = new URL('.', import.meta.url);
  const file = process.argv.slice(2).find((a) => !a.startsWith('--'));
  const report = JSON.parse(readFileSync(file ?? new URL('results.json', here), 'utf8'));
  for (const line of formatTable(report)) console.log(line);
  console.log('');
  for (const t of checkTargets(report)) {
    console.log(`${t.met ? 'met   ' : 'missed'}  ${t.shown}  ${t.target}`);
  }
  if (process.argv.includes('--write')) {
    const block = readmeBlock(report);
    for (const [file, name] of [
      ['../README.md', 'README.md'],
      ['README.md', 'bench/README.md'],
    ]) {
      await writeBlock(fileURLToPath(new URL(file, here)), block);
      console.log(`rewrote the results block of ${name}`);
    }
  }
}
