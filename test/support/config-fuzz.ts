// The configuration fuzzer's work, run in worker threads by
// test/unit/config-fuzz.test.ts (one per core: YAML parsing is CPU-bound).
// A worker takes a range of seeds and answers with its counts, or with the
// first failure: the seed, the file and what escaped.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ConfigCode, ConfigError, type Diagnostic } from '../../agent/config/diagnostics';
import { loadConfig, type ConfigFormat } from '../../agent/config/load';
import { formatTable, rowsFromConfig } from '../../agent/cli/table';
import { rng } from './rng';

export const ROOT = path.join(__dirname, '..', '..', '..');
export const SEEDS = [
  ['deploy/examples/keepalived.conf', 'keepalived'],
  ['deploy/examples/xdpvs.yaml', 'yaml'],
  ['test/fixtures/keepalived-sample.conf', 'keepalived'],
  ['test/fixtures/keepalived-vrrp.conf', 'keepalived'],
] as const;
const CODES = new Set<string>(Object.values(ConfigCode));

/** Values at the edges of what the front ends accept, and syntax that breaks them. */
const EDGES = [
  '0', '-1', '1', '2', '254', '255', '256', '65535', '65536', '4294967295', '4294967296', '1e309', '-0', '0x10', '0.5',
  '1.5', 'NaN', 'Infinity', '', '""', '"', "'", '{', '}', '{}', '#', '!', ':', '- ', '[', ']', '~', 'null', 'yes', 'no',
  '&a', '*a', '!!binary', '::', '::1', '2001:DB8::1', 'fe80::1%eth0', '10.0.0.1/33', '10.0.0.1/-1', '300.1.1.1',
  '10.0.0.1-300', '198.51.100.1-2', '[::1]:80', 'eth0', 'lo', 'a'.repeat(4096), '\u0000', '\t', '\u202e', 'é', '\\',
  'DR', 'TUN', 'NAT', 'TCP', 'UDP', 'SCTP', 'rr', 'wlc', 'mh', 'bogus_keyword', 'include', 'virtual_server',
  'real_server', 'vrrp_instance', 'virtual_ipaddress', 'track_script', 'HTTP_GET', 'url', 'status_code', 'digest',
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** One to four mutations of a seed's text, chosen by r. */
function mutate(r: () => number, text: string, donors: string[]): string {
  let lines = text.split('\n');
  const rounds = 1 + Math.floor(r() * 4);
  for (let k = 0; k < rounds; k++) {
    const i = Math.floor(r() * lines.length);
    switch (Math.floor(r() * 9)) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(i, 0, lines[i] ?? '');
        break;
      case 2: {
        const j = Math.floor(r() * lines.length);
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
        break;
      }
      case 3:
        lines.splice(i, 0, pick(r, donors));
        break;
      case 4: {
        // a token replaced by an edge value
        const words = (lines[i] ?? '').split(/(\s+)/);
        const w = Math.floor(r() * words.length);
        words[w] = pick(r, EDGES);
        lines[i] = words.join('');
        break;
      }
      case 5: {
        // a byte flipped, sometimes to a control or non-ASCII character
        const line = lines[i] ?? '';
        const at = Math.floor(r() * (line.length + 1));
        const ch = r() < 0.5 ? String.fromCharCode(32 + Math.floor(r() * 95)) : String.fromCharCode(Math.floor(r() * 0x3000));
        lines[i] = line.slice(0, at) + ch + line.slice(at + 1);
        break;
      }
      case 6: {
        // the file cut anywhere, mid-line included
        const all = lines.join('\n');
        lines = all.slice(0, Math.floor(r() * all.length)).split('\n');
        break;
      }
      case 7:
        lines[i] = `${lines[i] ?? ''} ${pick(r, EDGES)}`;
        break;
      default: {
        // indentation changed (YAML's structure is its indentation)
        const line = lines[i] ?? '';
        lines[i] = r() < 0.5 ? line.replace(/^\s{1,2}/, '') : `  ${line}`;
      }
    }
  }
  return lines.join('\n');
}

function checkDiagnostic(d: Diagnostic, file: string): void {
  assert.ok(d.severity === 'error' || d.severity === 'warning', `severity ${d.severity}`);
  assert.ok(CODES.has(d.code), `a diagnostic without a stable code: ${JSON.stringify(d)}`);
  assert.equal(typeof d.loc?.file, 'string', `a diagnostic without its file: ${JSON.stringify(d)}`);
  assert.ok(d.loc.file === file || d.loc.file.length > 0, `file ${d.loc.file}`);
  assert.ok(Number.isInteger(d.loc.line) && d.loc.line >= 1, `a diagnostic without its line: ${JSON.stringify(d)}`);
  assert.ok(d.message.length > 0, 'an empty message');
}

export interface Outcome {
  loaded: number;
  rejected: number;
  diagnostics: number;
  /** the first failure, with its seed and file */
  failure?: string;
}

/** Seeds first .. first + count - 1, each file written into `dir`. */
export function fuzzRange(first: number, count: number, dir: string): Outcome {
  const seeds = SEEDS.map(([p, format]) => ({ text: fs.readFileSync(path.join(ROOT, p), 'utf8'), format: format as ConfigFormat, ext: format === 'yaml' ? 'yaml' : 'conf' }));
  const donors = seeds.flatMap((s) => s.text.split('\n'));
  const outcome: Outcome = { loaded: 0, rejected: 0, diagnostics: 0 };
  for (let n = 0; n < count; n++) {
    const seed = first + n;
    const r = rng(seed);
    const s = pick(r, seeds);
    const text = mutate(r, s.text, donors);
    const file = path.join(dir, `fuzz.${s.ext}`);
    fs.writeFileSync(file, text);
    const replay = (): string => `seed ${seed} (FUZZ_SEED=${seed} FUZZ_CONFIG_N=1), ${s.format} file:\n${text.slice(0, 4000)}`;
    try {
      const { config, warnings } = loadConfig(file, s.format);
      for (const w of warnings) checkDiagnostic(w, file);
      outcome.diagnostics += warnings.length;
      formatTable(rowsFromConfig(config), false);
      outcome.loaded++;
    } catch (err) {
      if (!(err instanceof ConfigError)) return { ...outcome, failure: `${(err as Error)?.stack ?? String(err)}\n${replay()}` };
      try {
        assert.ok(err.diagnostics.some((d) => d.severity === 'error'), 'a ConfigError without an error');
        for (const d of err.diagnostics) checkDiagnostic(d, file);
      } catch (e) {
        return { ...outcome, failure: `${(e as Error).message}\n${replay()}` };
      }
      outcome.diagnostics += err.diagnostics.length;
      outcome.rejected++;
    }
  }
  return outcome;
}

if (!isMainThread && (workerData as { fuzz?: unknown } | null)?.fuzz) {
  const { first, count, dir } = (workerData as { fuzz: { first: number; count: number; dir: string } }).fuzz;
  parentPort!.postMessage(fuzzRange(first, count, dir));
}
