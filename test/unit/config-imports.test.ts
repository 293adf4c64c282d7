// Imports flow one way: net/ is below everyone and imports nothing of the
// agent; config/ reads only itself and net/ (never the data plane or the
// schedulers it configures).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const AGENT = path.join(__dirname, '..', '..', '..', 'agent');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The agent-relative folders a file imports from ("net", "config", "dataplane", ...), or "native". */
function importedFolders(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)].map((m) => {
    const rel = path.relative(AGENT, path.resolve(path.dirname(file), m[1]!));
    return rel.startsWith('..') ? 'native' : rel.split(path.sep)[0]!;
  });
}

describe('import direction of net/ and config/', () => {
  it('net/ imports nothing of the agent', () => {
    for (const f of sources(path.join(AGENT, 'net'))) {
      assert.deepEqual(importedFolders(f).filter((d) => d !== 'net'), [], path.relative(AGENT, f));
    }
  });

  it('config/ imports only config/ and net/', () => {
    const files = sources(path.join(AGENT, 'config'));
    assert.ok(files.length > 5);
    for (const f of files) {
      assert.deepEqual(importedFolders(f).filter((d) => d !== 'config' && d !== 'net'), [], path.relative(AGENT, f));
    }
  });
});
