// The bridge on real interfaces: XDP attach in native and generic mode (and
// the mode reported back), atomic replace, detach, errors naming the
// interface; maps pinned in bpffs and re-adopted by a second load, as an
// agent restart does.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { addrBytes } from '../../agent/dataplane/addr';
import { parseAddr } from '../../agent/net/addr';
import { LbDataplane, DecapDataplane } from '../../agent/dataplane/lb';
import { attachXdp, BpfError, detachXdp, ifIndex, openPinnedMap, openPinnedProgram, queryXdp, XdpAttached } from '../../native/index';
import { Topology } from '../support/netns';
import { requireRoot } from '../support/root';

describe('XDP attach and bpffs pins', () => {
  let topo: Topology;
  let dev: string;
  let lb: LbDataplane;
  let decap: DecapDataplane;

  before(() => {
    requireRoot('netns');
    topo = new Topology('a');
    const ns = topo.netns('n');
    dev = topo.name('d');
    topo.veth(dev, topo.name('p'), ns);
    lb = LbDataplane.load({ maxFlows: 1024 });
    decap = DecapDataplane.load();
  });

  after(() => {
    lb?.close();
    decap?.close();
    topo?.cleanup();
  });

  it('attaches in native mode on veth and reports native', () => {
    assert.equal(attachXdp(dev, lb.program, 'native'), 'native');
    const q = queryXdp(dev);
    assert.equal(q.attachMode, XdpAttached.DRV);
    assert.equal(q.drvProgId, lb.program.info().id);
    detachXdp(dev, 'native');
    assert.equal(queryXdp(dev).attachMode, XdpAttached.NONE);
  });

  it('attaches in generic mode and reports generic', () => {
    assert.equal(attachXdp(ifIndex(dev), lb.program, 'generic'), 'generic');
    assert.equal(queryXdp(dev).skbProgId, lb.program.info().id);
    detachXdp(dev, 'generic');
    assert.equal(queryXdp(dev).attachMode, XdpAttached.NONE);
  });

  it('replaces exactly the named program, atomically, and refuses a stale one', () => {
    attachXdp(dev, lb.program, 'native');
    try {
      attachXdp(dev, decap.program, 'native', lb.program);
      assert.equal(queryXdp(dev).drvProgId, decap.program.info().id);
      assert.throws(
        () => attachXdp(dev, decap.program, 'native', lb.program),
        (err: unknown) => err instanceof BpfError && err.code === 'EEXIST' && err.message.includes(`attach xdp (native) to ${dev} (ifindex`),
      );
    } finally {
      detachXdp(dev, 'native');
    }
  });

  it('an agent pins the program it attached; the next replaces it through that pin; the last detach unpins it', () => {
    const pinDir = `${topo.bpffs()}/xdpvs`;
    const first = LbDataplane.load({ maxFlows: 1024, pinDir });
    try {
      assert.deepEqual(first.attach(dev, 'native'), { mode: 'native' });
      assert.equal(openPinnedProgram(`${pinDir}/xdpvs_lb`).info().id, first.program.info().id);
    } finally {
      first.close(); // stays attached, as after SIGUSR2
    }
    const firstId = queryXdp(dev).drvProgId;
    const second = LbDataplane.load({ maxFlows: 1024, pinDir });
    try {
      assert.deepEqual(second.attach(dev, 'native'), { mode: 'native', replaced: firstId });
      assert.equal(queryXdp(dev).drvProgId, second.program.info().id);
      assert.equal(openPinnedProgram(`${pinDir}/xdpvs_lb`).info().id, second.program.info().id);
      assert.deepEqual(second.detachAll(), [{ iface: dev }]);
      assert.equal(queryXdp(dev).attachMode, XdpAttached.NONE);
      assert.equal(fs.existsSync(`${pinDir}/xdpvs_lb`), false);
    } finally {
      second.close();
    }
  });

  it('a program of another name is refused by name, not replaced', () => {
    attachXdp(dev, decap.program, 'native');
    const pinDir = `${topo.bpffs()}/xdpvs`;
    const dp = LbDataplane.load({ maxFlows: 1024, pinDir });
    try {
      assert.throws(() => dp.attach(dev, 'native'), /already has XDP program xdpvs_decap \(id \d+\): detach it first/);
    } finally {
      dp.close();
      detachXdp(dev, 'native');
    }
  });

  it('an unknown interface is an error naming it', () => {
    assert.throws(() => attachXdp('nosuchif0', lb.program, 'native'), /find interface nosuchif0: .*ENODEV/);
  });

  it('a second load re-adopts pinned maps with their entries, tables included', () => {
    const pinDir = `${topo.bpffs()}/xdpvs`;
    const first = LbDataplane.load({ maxFlows: 1024, pinDir });
    const a = addrBytes(parseAddr('192.0.2.10'));
    const key = { addr: a.bytes, port: 80, proto: 6, family: a.family };
    try {
      first.setVip(key, { id: 3, flags: 0, sched: 0, tableSize: 5, persistTimeout: 0, pad: 0 });
      first.setTable(3, [1, 2, 3, 4, 5]);
    } finally {
      first.close();
    }
    // each table is pinned by VIP id: a restart opens it by path, not by id (CAP_SYS_ADMIN)
    assert.ok(fs.existsSync(`${pinDir}/vip_tables/3`));
    const second = LbDataplane.load({ maxFlows: 1024, pinDir });
    try {
      const vips = [...second.vips()];
      assert.equal(vips.length, 1);
      assert.deepEqual(vips[0]?.[0], key);
      assert.equal(vips[0]?.[1].id, 3);
      assert.deepEqual(second.table(3), [1, 2, 3, 4, 5]);
      // an in-place diff through the re-adopted inner map
      second.setTable(3, [1, 2, 9, 4, 5]);
      assert.deepEqual(second.table(3), [1, 2, 9, 4, 5]);
    } finally {
      second.close();
    }
    // a table swapped for one of another length is pinned again; a deleted one loses its pin
    const third = LbDataplane.load({ maxFlows: 1024, pinDir });
    try {
      third.setTable(3, [7, 7, 7]);
      assert.equal(openPinnedMap(`${pinDir}/vip_tables/3`).maxEntries, 3);
      third.deleteTable(3);
      assert.equal(fs.existsSync(`${pinDir}/vip_tables/3`), false);
    } finally {
      third.close();
    }
    // a pinned map of another size is refused by name, not silently replaced
    assert.throws(
      () => LbDataplane.load({ maxFlows: 2048, pinDir }),
      /pinned map .*\/flows is .*"maxEntries":1024.* but .*lb\.bpf\.o wants .*"maxEntries":2048/,
    );
  });
});
