// The per-packet cost harness of `make bench` (bench/cost.ts over
// bpf/cost.bpf.c), run for one short round so that it cannot rot: every
// measured run must take the path it measures (the harness counts them and
// throws otherwise), and new-flow runs must each be a new flow. No speed is
// asserted here: figures come from `make bench`.
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { measureCosts } from '../../bench/cost';
import { requireRoot } from '../support/root';

describe('cost harness', () => {
  before(() => requireRoot('packet'));

  it('measures every path, each run on the path it names, with its harness subtracted', () => {
    // a small table: the VM layer runs this under software emulation too
    const costs = measureCosts({ rounds: 1, repeat: 2000, flows: 16_384 });
    assert.deepEqual(
      costs.map((c) => c.case),
      ['ceiling', 'dr', 'tun', 'dr-ipv6', 'tun-ipv6', 'dr-vlan', 'new-flow', 'syn-flood'],
    );
    for (const c of costs) {
      assert.equal(c.ns.length, 1, c.case);
      assert.ok(Number.isFinite(c.ns[0]) && c.harnessNs[0]! > 0, `${c.case}: ${c.ns[0]} ns, harness ${c.harnessNs[0]} ns`);
    }
  });
});
