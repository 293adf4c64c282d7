// Imports flow one way (see README "Architecture"): net/ is below everyone
// and imports nothing of the agent; config -> model -> reconcile ->
// dataplane -> native, with health, vrrp, sched and reach beside reconcile;
// only dataplane/ touches native/. The owners at the top (metrics, control,
// cli, agent.ts) may read anything below them; no module imports upward.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const AGENT = path.join(__dirname, '..', '..', '..', 'agent');

/** What each folder may import besides itself (and log.ts and errors.ts, the logger and the runtime error codes every layer shares). */
const ALLOWED: Record<string, readonly string[]> = {
  net: [],
  config: ['net'],
  sched: ['net'],
  dataplane: ['net', 'native'],
  health: ['net', 'config'],
  // the host only through the system façade
  vrrp: ['net', 'config', 'dataplane/sys'],
  reach: ['net', 'dataplane'],
  reconcile: ['net', 'config', 'sched', 'dataplane'],
  control: ['net', 'config'],
  metrics: ['net', 'config', 'control', 'health'],
  // reads every owner's state, writes none
  status: ['net', 'config', 'control', 'health', 'metrics', 'reconcile', 'dataplane'],
};
/** Wiring and commands: anything of the agent, but native/ only through dataplane/. */
const TOP = ['agent.ts', 'script.ts', 'cli'];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** What a file imports: agent-relative module paths ("dataplane/sys"), "native" for native/. */
function imports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => {
    const rel = path.relative(AGENT, path.resolve(path.dirname(file), m[1]!));
    return rel.startsWith('..') ? 'native' : rel.split(path.sep).join('/');
  });
}

/** The folder (or top-level file, "log.ts") a module path belongs to. */
const folderOfModule = (m: string): string => (m.includes('/') ? m.split('/')[0]! : m === 'native' ? m : `${m}.ts`);

/** Imports of `file` that its folder may not make. */
function forbidden(file: string, folder: string, allowed: readonly string[]): string[] {
  return imports(file).filter((m) => {
    const f = folderOfModule(m);
    return f !== folder && f !== 'log.ts' && f !== 'errors.ts' && !allowed.includes(f) && !allowed.includes(m);
  });
}

describe('import direction', () => {
  const files = sources(AGENT);
  const folderOf = (f: string): string => {
    const rel = path.relative(AGENT, f);
    return rel.includes(path.sep) ? rel.split(path.sep)[0]! : rel;
  };

  it('every folder of the agent is placed in the order', () => {
    for (const f of files) {
      const folder = folderOf(f);
      assert.ok(folder in ALLOWED || TOP.includes(folder) || folder === 'log.ts' || folder === 'errors.ts', `${path.relative(AGENT, f)}: ${folder} is in no layer`);
    }
  });

  for (const [folder, allowed] of Object.entries(ALLOWED)) {
    it(`${folder}/ imports only ${allowed.length ? allowed.join(', ') : 'itself'}`, () => {
      const own = files.filter((f) => folderOf(f) === folder);
      assert.ok(own.length > 0, `no files in ${folder}/`);
      for (const f of own) {
        const bad = forbidden(f, folder, allowed);
        assert.deepEqual(bad, [], `${path.relative(AGENT, f)} imports ${bad.join(', ')}`);
      }
    });
  }

  it('only dataplane/ imports native/', () => {
    // the reader sees what it checks: dataplane's own imports of native/ are found
    assert.ok(files.some((f) => folderOf(f) === 'dataplane' && imports(f).includes('native')), 'no import of native/ found at all');
    for (const f of files) {
      if (folderOf(f) === 'dataplane') continue;
      assert.ok(!imports(f).includes('native'), `${path.relative(AGENT, f)} imports native/`);
    }
  });

  it('the check catches an upward import', () => {
    // config/ importing the data plane was the issue before net/ existed
    const probe = path.join(AGENT, 'config', 'load.ts');
    assert.deepEqual(forbidden(probe, 'config', ['net']), []);
    assert.ok(forbidden(probe, 'config', []).length > 0, 'config/load.ts imports net/, which an empty allowance refuses');
  });
});
