// A failover with keepalived's default scheduler (no lb_algo: wlc), under
// uneven load. The backup never saw the master's flows: after a SIGKILL it
// schedules their next packets itself, so it must land them where the master
// did, whatever load the master counted.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Lab, type AgentProcess } from '../lab/lab';
import { openPinnedMap } from '../../native/index';
import { FlowKey, FlowKind, FlowState } from '../../agent/dataplane/abi';
import { requireRoot } from '../support/root';

const DOWNLOADS = 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A director's keepalived.conf: one service without lb_algo, one vrrp_instance. */
function conf(lab: Lab, d: number, priority: number): string {
  const dev = lab.directors[d]!.dev;
  return [
    'virtual_server 198.18.1.100 80 {', '  delay_loop 1', '  lb_kind DR',
    ...lab.reals.flatMap((r) => [`  real_server ${r.addr} 80 {`, '    TCP_CHECK {', '      connect_timeout 1', '    }', '  }']),
    '}',
    'vrrp_instance VI_1 {', '  state BACKUP', `  interface ${dev}`, '  virtual_router_id 51', `  priority ${priority}`, '  advert_int 1',
    '  virtual_ipaddress {', `    ${lab.vip}/32 dev ${dev}`, '  }', '}',
  ].join('\n');
}

describe('failover with lb_algo absent (wlc) under uneven load', () => {
  let lab: Lab;
  let a0: AgentProcess;
  let a1: AgentProcess;

  before(async () => {
    requireRoot('netns');
    lab = new Lab({ tag: 'sf', reals: 2, directors: 2, vipOnLink: true });
    for (let i = 0; i < 2; i++) await lab.startServer(i);
    a0 = lab.startAgent(lab.writeConfig('d0.conf', conf(lab, 0, 150)), 0);
    a1 = lab.startAgent(lab.writeConfig('d1.conf', conf(lab, 1, 100)), 1, ['--metrics', '127.0.0.1:9642']);
    await a0.waitFor(/"msg":"vrrp MASTER"/, 20_000);
    await a1.waitFor(/"msg":"vrrp BACKUP"/, 5_000, true);
  });

  after(async () => lab?.cleanup());

  it('SIGKILL on the master: every download running through it completes on the backup', async () => {
    // uneven load on the master: 20,000 live connections to real1 (as a busy
    // director counts them), none on the backup
    const list = JSON.parse(lab.cli(['list', '--json'], 0)) as { reals: { id: number; addr: string }[] }[];
    const real1 = list[0]!.reals.find((r) => r.addr === lab.reals[0]!.addr)!.id;
    const n = 20_000;
    const keys = Buffer.alloc(n * FlowKey.size);
    const values = Buffer.alloc(n * FlowState.size);
    const now = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      FlowKey.encode({
        src: Buffer.from([10, 9, (i >> 8) & 255, i & 255, ...new Array(12).fill(0)]),
        dst: Buffer.from([198, 18, 1, 100, ...new Array(12).fill(0)]),
        sport: 2000 + i,
        dport: 80,
        proto: 6,
        family: 2,
        kind: FlowKind.XDPVS_FLOW_CONN,
        pad: 0,
      }).copy(keys, i * FlowKey.size);
      FlowState.encode({ realId: real1, pad: 0, lastSeen: now }).copy(values, i * FlowState.size);
    }
    const flows = openPinnedMap(path.join(lab.bpffs, 'xdpvs-0', 'flows'));
    try {
      flows.updateBatch(keys, values, n);
    } finally {
      flows.close();
    }
    // the master has counted them (its census walked the table)
    const deadline = Date.now() + 15_000;
    const counted = (): number => {
      const json = JSON.parse(lab.cli(['list', '--json'], 0)) as { reals: { id: number; activeConn: number }[] }[];
      return json[0]!.reals.find((r) => r.id === real1)!.activeConn;
    };
    while (counted() < n && Date.now() < deadline) await sleep(500);
    assert.ok(counted() >= n, `the master counts ${counted()} active connections on real1`);
    await sleep(1000); // whatever the count changes is applied by now

    // new connections, each from its own source port, through the master
    const downloads = Array.from({ length: DOWNLOADS }, () => lab.download('/big?mb=4&ms=100', 40));
    await sleep(1500);
    const m1 = a1.mark();
    a0.signal('SIGKILL');
    await a1.waitFor(/"msg":"vrrp MASTER"/, 8_000, m1);
    const results = await Promise.all(downloads);
    const failed = results.filter((r) => r.code !== 0 || r.bytes !== 4 * 1024 * 1024);
    assert.equal(failed.length, 0, `${failed.length} of ${DOWNLOADS} downloads broke in the failover: ${JSON.stringify(failed)}`);
  });
});
