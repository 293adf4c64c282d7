// same(): the agent's one equality of configurations, checks and next hops.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { same } from '../../agent/net/same';
import { parseAddr, parseMac, parsePrefix } from '../../agent/net/addr';

describe('same: structural equality that ignores where a thing was written', () => {
  it('ignores loc at any depth and members that are undefined; key order does not matter', () => {
    const a = { name: 'VI_1', loc: { file: 'a.conf', line: 3 }, track: [{ name: 'chk', weight: -10, loc: { file: 'a.conf', line: 9 } }], note: undefined };
    const b = { track: [{ loc: { file: 'b.conf', line: 40 }, weight: -10, name: 'chk' }], name: 'VI_1', loc: { file: 'b.conf', line: 30 } };
    assert.ok(same(a, b));
    assert.ok(!same(a, { ...b, track: [{ name: 'chk', weight: -20 }] }));
    assert.ok(!same(a, { ...b, extra: 0 }));
  });

  it('compares addresses, prefixes, MACs and buffers by value, and never across types', () => {
    assert.ok(same(parseAddr('2001:db8::1'), parseAddr('2001:db8:0::1')));
    assert.ok(!same(parseAddr('10.0.0.1'), parseAddr('10.0.0.2')));
    assert.ok(same(parsePrefix('10.0.0.0/8'), parsePrefix('10.0.0.0/8')));
    assert.ok(!same(parsePrefix('10.0.0.0/8'), parsePrefix('10.0.0.0/16')));
    assert.ok(same(parseMac('02:00:00:00:00:01'), parseMac('02:00:00:00:00:01')));
    assert.ok(same(Buffer.from([1, 2]), Buffer.from([1, 2])));
    assert.ok(!same(Buffer.from([1, 2]), [1, 2]));
    assert.ok(!same(parseAddr('10.0.0.1'), { bytes: parseAddr('10.0.0.1').bytes }));
  });

  it('arrays by order and length, maps by key, NaN equals NaN, null only null', () => {
    assert.ok(same([1, [2, 3]], [1, [2, 3]]));
    assert.ok(!same([1, 2], [2, 1]));
    assert.ok(!same([1], [1, undefined]));
    assert.ok(same(new Map([['a', parseAddr('10.0.0.1')]]), new Map([['a', parseAddr('10.0.0.1')]])));
    assert.ok(!same(new Map([['a', 1]]), new Map([['b', 1]])));
    assert.ok(same(Number.NaN, Number.NaN));
    assert.ok(!same(null, {}));
    assert.ok(!same(0, '0'));
    assert.ok(same(undefined, undefined));
  });
});
