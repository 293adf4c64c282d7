// The one keyword table: README's reference is generated from it, both
// front ends take their defaults and ranges from it, so neither can drift.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../agent/config/diagnostics';
import { BLOCKS, CHECK, REAL, SERVICE, defaultText, type Keyword, type Table } from '../../agent/config/keywords';
import { loadConfig } from '../../agent/config/load';
import type { Config } from '../../agent/config/model';
import { keywordReference, REFERENCE_BEGIN, REFERENCE_END } from '../../agent/config/reference';

const README = path.join(__dirname, '..', '..', '..', 'README.md');

function readmeReference(): string {
  const text = fs.readFileSync(README, 'utf8');
  const from = text.indexOf(REFERENCE_BEGIN);
  const to = text.indexOf(REFERENCE_END);
  assert.ok(from >= 0 && to > from, `README.md has no "${REFERENCE_BEGIN}" ... "${REFERENCE_END}" section`);
  return text.slice(from, to + REFERENCE_END.length);
}

/** The keywords a reference row names: the backquoted words of its YAML and keepalived.conf cells. */
function rowKeywords(row: string): string[] {
  const [, yaml = '', conf = ''] = row.split('|');
  return [...`${yaml} ${conf}`.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

describe('the keyword table', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-keywords-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const load = (name: string, lines: string[]): Config => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, lines.join('\n'));
    return loadConfig(f).config;
  };
  const errorsOf = (name: string, lines: string[]): string[] => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, lines.join('\n'));
    try {
      loadConfig(f);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.loc.line}: ${d.message}`);
    }
  };

  it('README.md holds the reference generated from it', () => {
    const want = keywordReference();
    assert.equal(
      readmeReference(),
      want,
      'README.md\'s configuration reference differs from agent/config/keywords.ts; put this between its markers ' +
        `(node -e "process.stdout.write(require('./dist/agent/config/reference').keywordReference())"):\n${want}`,
    );
  });

  it('every keyword the README lists is in the table, and every one in the table is listed with its range and default', () => {
    const rows = readmeReference().split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| YAML'));
    const known = new Set(Object.values(BLOCKS).flatMap((t: Table) => Object.values(t).flatMap((kw) => [...(kw.yaml ? [kw.yaml] : []), ...kw.conf])));
    for (const row of rows) for (const k of rowKeywords(row)) assert.ok(known.has(k), `README lists ${k}, which the keyword table does not have`);
    for (const [block, table] of Object.entries(BLOCKS)) {
      for (const kw of Object.values(table as Table)) {
        const names = [...(kw.yaml ? [kw.yaml] : []), ...kw.conf];
        const row = rows.find((r) => rowKeywords(r).join(' ') === names.join(' '));
        assert.ok(row, `${block}: ${names.join('/')} is not in README's reference`);
        const cells = row.split('|').map((x) => x.trim());
        if (kw.kind !== 'ignored') assert.equal(cells[3], kw.range, `${names[0]}: range`);
        for (const front of ['yaml', 'conf'] as const) {
          const d = defaultText(kw, front);
          if (d) assert.ok(cells[4]!.includes(`\`${d}\``), `${names[0]}: default ${d} (${front}) not in "${cells[4]}"`);
        }
      }
    }
  });

  it('both front ends start from the table\'s defaults: the same model from the same minimal service', () => {
    const yaml = load('min.yaml', ['services:', '  - vip: 192.0.2.10', '    port: 80', '    reals:', '      - address: 10.0.1.1', '        port: 80', '        checks: [{ type: tcp }]']);
    const conf = load('min.conf', ['virtual_server 192.0.2.10 80 {', '  real_server 10.0.1.1 80 {', '    TCP_CHECK {', '    }', '  }', '}']);
    const plain = (c: Config): unknown => JSON.parse(JSON.stringify(c.services, (k, v: unknown) => (k === 'loc' ? undefined : v)));
    const [ys, cs] = [yaml.services[0]!, conf.services[0]!];
    // the one default that differs on purpose, and says so in the table
    assert.deepEqual([ys.scheduler, cs.scheduler], [SERVICE.scheduler.yamlDefault, SERVICE.scheduler.default]);
    assert.deepEqual(plain({ ...yaml, services: [{ ...ys, scheduler: 'wlc' }] }), plain(conf));
    const check = cs.reals[0]!.checks[0]!;
    const expected: [Keyword, unknown][] = [
      [SERVICE.delayLoop, cs.delayLoop],
      [SERVICE.persistenceTimeout, cs.persistenceTimeout],
      [SERVICE.protocol, cs.protocol],
      [SERVICE.method, cs.method],
      [SERVICE.quorum, cs.quorum],
      [SERVICE.hysteresis, cs.hysteresis],
      [REAL.weight, cs.reals[0]!.weight],
      [CHECK.connectTimeout, check.connectTimeout],
      [CHECK.retry, check.retry],
      [CHECK.delayBeforeRetry, check.delayBeforeRetry],
      [CHECK.warmup, check.warmup],
    ];
    for (const [kw, got] of expected) assert.equal(got, kw.default, `${kw.conf[0]}: the model has ${String(got)}, the table says ${String(kw.default)}`);
    assert.equal(check.delayLoop, SERVICE.delayLoop.default, "a check's delay_loop is its service's");
    assert.equal(ys.delayLoop, 60, 'YAML delay_loop defaults to keepalived\'s 60 s');
  });

  it('both front ends refuse a value just past each range the table gives, naming that range', () => {
    const where = { service: SERVICE, real: REAL, check: CHECK } as const;
    let tried = 0;
    for (const [block, table] of Object.entries(where)) {
      for (const kw of Object.values(table as Table)) {
        const m = /^(-?[\d.]+)\.\.(-?[\d.]+)/.exec(kw.range);
        if (!m || !kw.yaml || kw.conf.length === 0 || (kw.kind !== 'int' && kw.kind !== 'seconds')) continue;
        const bad = String(Number(m[2]) + 1);
        // a keyword of one check type (misc_timeout) is tried in a check of that type
        const misc = kw.only?.includes('misc') === true;
        const yamlLines = ['services:', '  - vip: 192.0.2.10', '    port: 80', ...(block === 'service' ? [`    ${kw.yaml}: ${bad}`] : []), '    reals:', '      - address: 10.0.1.1',
          ...(block === 'real' ? [`        ${kw.yaml}: ${bad}`] : []), '        checks:', `          - type: ${misc ? 'misc' : 'tcp'}`, ...(misc ? ['            misc_path: /bin/true'] : []),
          ...(block === 'check' ? [`            ${kw.yaml}: ${bad}`] : [])];
        const confLines = ['virtual_server 192.0.2.10 80 {', ...(block === 'service' ? [`  ${kw.conf[0]} ${bad}`] : []), '  real_server 10.0.1.1 80 {',
          ...(block === 'real' ? [`    ${kw.conf[0]} ${bad}`] : []), `    ${misc ? 'MISC_CHECK' : 'TCP_CHECK'} {`, ...(misc ? ['      misc_path /bin/true'] : []),
          ...(block === 'check' ? [`      ${kw.conf[0]} ${bad}`] : []), '    }', '  }', '}'];
        const range = `${m[1]}..${m[2]}`;
        const y = errorsOf('range.yaml', yamlLines);
        const c = errorsOf('range.conf', confLines);
        const line = (lines: string[]): number => lines.findIndex((l) => l.includes(` ${bad}`)) + 1;
        assert.deepEqual(y, [`${line(yamlLines)}: ${kw.yaml} ${bad} is out of range ${range}${kw.kind === 'seconds' ? ' seconds' : ''}`], `YAML ${kw.yaml}`);
        assert.deepEqual(c, [`${line(confLines)}: ${kw.conf[0]} ${bad} is out of range ${range}${kw.kind === 'seconds' ? ' seconds' : ''}`], `keepalived.conf ${kw.conf[0]}`);
        tried++;
      }
    }
    assert.ok(tried >= 10, `only ${tried} ranges tried`);
  });
});
