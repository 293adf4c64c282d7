// A restarted agent keeps the previous agent's next hops until the kernel
// answers: only for the same address, only when that real was active.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { RealFlags, type RealDefValue } from '../../agent/dataplane/abi';
import { addrBytes } from '../../agent/dataplane/addr';
import { parseAddr, parseMac } from '../../agent/net/addr';
import { adoptFromPins } from '../../agent/reconcile/adopt';

function def(addr: string, o: { mac?: string; active?: boolean; ifindex?: number; srcMac?: string; mtu?: number } = {}): RealDefValue {
  const a = addrBytes(parseAddr(addr));
  return {
    addr: a.bytes,
    mac: parseMac(o.mac ?? '02:00:00:00:01:01').bytes,
    srcMac: parseMac(o.srcMac ?? '00:00:00:00:00:00').bytes,
    ifindex: o.ifindex ?? 0,
    family: a.family,
    method: 0,
    flags: o.active === false ? 0 : RealFlags.XDPVS_REAL_ACTIVE,
    mtu: o.mtu ?? 0,
    pad: 0,
  };
}

describe('adopting next hops from the pinned maps at start', () => {
  it('an active real at the same id and address keeps its MAC, egress and MTU, and starts up', () => {
    const pins = new Map([[3, def('10.0.1.1', { ifindex: 7, srcMac: '02:00:00:00:00:02', mtu: 1480 })]]);
    const got = adoptFromPins([{ key: 'svc -> 10.0.1.1:80', id: 3, addr: parseAddr('10.0.1.1') }], (id) => pins.get(id), {
      tunSrc4: parseAddr('10.0.0.1').bytes,
      tunSrc6: Buffer.alloc(16),
    });
    assert.deepEqual(Object.fromEntries(got.reach), {
      '10.0.1.1': { mac: parseMac('02:00:00:00:01:01'), ifindex: 7, srcMac: parseMac('02:00:00:00:00:02'), mtu: 1480, prefsrc: parseAddr('10.0.0.1') },
    });
    assert.deepEqual([...got.active], ['svc -> 10.0.1.1:80']);
  });

  it('nothing is taken from an inactive real, a zero MAC, another address at that id, or a missing entry', () => {
    const pins = new Map([
      [1, def('10.0.1.1', { active: false })],
      [2, def('10.0.1.2', { mac: '00:00:00:00:00:00' })],
      [3, def('10.0.1.99')],
      [4, def('fd00::4')],
    ]);
    const known = [
      { key: 'a', id: 1, addr: parseAddr('10.0.1.1') },
      { key: 'b', id: 2, addr: parseAddr('10.0.1.2') },
      { key: 'c', id: 3, addr: parseAddr('10.0.1.3') },
      { key: 'd', id: 4, addr: parseAddr('10.0.1.4') },
      { key: 'e', id: 5, addr: parseAddr('10.0.1.5') },
    ];
    const got = adoptFromPins(known, (id) => pins.get(id));
    assert.equal(got.reach.size, 0);
    assert.equal(got.active.size, 0);
  });

  it('an IPv6 real gets the IPv6 tunnel source; no source configured, no prefsrc', () => {
    const pins = new Map([[1, def('fd00::1')]]);
    const known = [{ key: 'k', id: 1, addr: parseAddr('fd00::1') }];
    const withSrc = adoptFromPins(known, (id) => pins.get(id), { tunSrc4: Buffer.alloc(4), tunSrc6: parseAddr('fd00::a').bytes });
    assert.equal(String(withSrc.reach.get('fd00::1')?.prefsrc), 'fd00::a');
    const without = adoptFromPins(known, (id) => pins.get(id), { tunSrc4: Buffer.alloc(4), tunSrc6: Buffer.alloc(16) });
    assert.equal(without.reach.get('fd00::1')?.prefsrc, undefined);
  });
});
