// What deploy/ ships stays true: example configurations load without errors,
// and the Grafana dashboard queries only metrics the agent exports.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../agent/config/load';
import { Metrics } from '../../agent/metrics/metrics';
import { ConfigCode } from '../../agent/config/diagnostics';
import { RunCode } from '../../agent/errors';

const DEPLOY = path.join(__dirname, '..', '..', '..', 'deploy');

describe('deploy/', () => {
  for (const name of fs.readdirSync(path.join(DEPLOY, 'examples'))) {
    it(`examples/${name} loads without errors`, () => {
      const { config } = loadConfig(path.join(DEPLOY, 'examples', name));
      assert.ok(config.services.length > 0);
    });
  }

  it('the README lists every diagnostic code', () => {
    const readme = fs.readFileSync(path.join(DEPLOY, '..', 'README.md'), 'utf8');
    for (const code of [...Object.values(ConfigCode), ...Object.values(RunCode)]) assert.ok(readme.includes(`| \`${code}\` |`), `${code} is not in the README's table`);
  });

  it('the Grafana dashboard queries only metrics the agent registers', async () => {
    const metrics = new Metrics({
      services: () => [],
      stats: () => ({ verdicts: {}, services: [] }),
      mapUsage: () => [],
      info: () => ({ version: '0', format: 'yaml', config: 'x' }),
      vrrpStatus: () => [],
      flowSnapshot: () => ({ at: 0, walkMs: 0 }),
    });
    const exported = new Set<string>();
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
    }
    metrics.close();
    const dashboard = fs.readFileSync(path.join(DEPLOY, 'grafana-dashboard.json'), 'utf8');
    const used = new Set(dashboard.match(/xdpvs_[a-z_]+/g));
    assert.ok(used.size >= 8);
    for (const name of used) assert.ok(exported.has(name), `dashboard uses ${name}, which the agent does not export`);
  });
});
