// Configuration fuzzing: both front ends read files mutated from the example
// configurations and the fixtures (lines deleted, repeated, swapped, cut;
// tokens replaced by edge values; bytes flipped). Whatever the bytes, loading
// returns a model or throws a ConfigError, and every diagnostic names its
// place (file:line) and carries a stable code; nothing else escapes, and
// `xdpvs check`'s table prints for whatever loads. FUZZ_CONFIG_N sets the
// number of files (default 100,000), FUZZ_SEED the first seed: a failure
// prints the seed and the file, so it can be replayed.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../../agent/config/load';
import { ROOT, SEEDS, type Outcome } from '../support/config-fuzz';

const N = Number(process.env.FUZZ_CONFIG_N ?? 100_000);
const FIRST_SEED = Number(process.env.FUZZ_SEED ?? 1);
/** one worker per core (at most 4); the seeds are split between them, so a run is the same files whatever the machine */
const WORKERS = Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length, N));

describe('configuration fuzzing', () => {
  let dir: string;
  // in memory where there is a tmpfs: rewriting one file 100,000 times on a
  // disk file system took 40% of the run
  before(() => (dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xdpvs-conf-fuzz-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`${N} mutated files through both front ends: a model or a ConfigError, every diagnostic with file:line and a code`, async () => {
    // the seeds themselves load cleanly, so mutations start from valid files
    for (const [p] of SEEDS) loadConfig(path.join(ROOT, p));
    const per = Math.ceil(N / WORKERS);
    const parts = await Promise.all(
      Array.from({ length: WORKERS }, (_, w) => {
        const first = FIRST_SEED + w * per;
        const count = Math.max(0, Math.min(per, N - w * per));
        const own = fs.mkdtempSync(path.join(dir, `w${w}-`));
        return new Promise<Outcome>((resolve, reject) => {
          const worker = new Worker(path.join(__dirname, '..', 'support', 'config-fuzz.js'), { workerData: { fuzz: { first, count, dir: own } } });
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`fuzz worker ${w} exited (${code}) without an answer`)));
        });
      }),
    );
    for (const p of parts) if (p.failure) assert.fail(p.failure);
    const outcome = parts.reduce((a, p) => ({ loaded: a.loaded + p.loaded, rejected: a.rejected + p.rejected, diagnostics: a.diagnostics + p.diagnostics }), { loaded: 0, rejected: 0, diagnostics: 0 });
    assert.equal(outcome.loaded + outcome.rejected, N, 'every file was read');
    // the mutations reach both outcomes: a fuzzer that only ever fails to parse tests little
    assert.ok(outcome.loaded > N / 20 && outcome.rejected > N / 20, `loaded ${outcome.loaded}, rejected ${outcome.rejected}`);
    console.log(`config fuzz: ${N} files in ${WORKERS} workers, ${outcome.loaded} loaded, ${outcome.rejected} rejected, ${outcome.diagnostics} diagnostics`);
  });
});
