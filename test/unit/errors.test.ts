// Every error a running agent logs carries a stable code (agent/errors.ts),
// and the runtime codes and the configuration's never collide.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigCode } from '../../agent/config/diagnostics';
import { RunCode } from '../../agent/errors';

const AGENT = path.join(__dirname, '..', '..', '..', 'agent');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The first argument of every pino error call (`log.error({...}, msg)`), by file:line. */
function errorCalls(): { at: string; fields: string }[] {
  return sources(AGENT).flatMap((f) => {
    const text = fs.readFileSync(f, 'utf8');
    return [...text.matchAll(/\blog\.error\(([^,]*?)(?:,|\))/g)].map((m) => ({
      at: `${path.relative(AGENT, f)}:${text.slice(0, m.index).split('\n').length}`,
      fields: m[1]!,
    }));
  });
}

describe('runtime error codes', () => {
  it('every error the agent logs names a code', () => {
    const calls = errorCalls();
    assert.ok(calls.length >= 10, `only ${calls.length} log.error calls found: the scan is broken`);
    for (const c of calls) assert.match(c.fields, /\bcode\b/, `${c.at}: log.error(${c.fields} ...) has no code`);
  });

  it('runtime codes are XDPVS_RUN_*, distinct from the configuration codes (XDPVS_CONF_*)', () => {
    const run = Object.values(RunCode);
    assert.equal(new Set(run).size, run.length);
    for (const c of run) assert.match(c, /^XDPVS_RUN_[A-Z_]+$/);
    for (const c of Object.values(ConfigCode)) assert.match(c, /^XDPVS_CONF_[A-Z_]+$/);
  });
});
