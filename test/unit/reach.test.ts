// A reached real keeps its last known next hop until the kernel reports a
// definite change; a failed lookup never takes it out (issue 11, defect 2).
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { nextReach, type Resolved } from '../../agent/dataplane/reach';

const known: Resolved = { mac: '02:00:00:00:00:0b', ifindex: 0, dev: 'eth0', hop: '10.0.0.11', mtu: 1500 };

describe('nextReach', () => {
  it('a lookup that failed (ip did not start, timed out) keeps the last next hop', () => {
    assert.equal(nextReach('10.0.0.11', known, { unknown: 'route lookup failed: spawn ip ENOENT' }), known);
  });

  it('a neighbour entry aged out, INCOMPLETE or FAILED on the same route keeps the last next hop', () => {
    assert.equal(nextReach('10.0.0.11', known, { unknown: 'no usable neighbour entry', route: { dev: 'eth0' } }), known);
  });

  it('a route by another device or gateway drops the old MAC (another neighbour)', () => {
    assert.equal(nextReach('10.0.0.11', known, { unknown: 'no usable neighbour entry', route: { dev: 'eth1' } }), undefined);
    assert.equal(nextReach('10.0.0.11', known, { unknown: 'no usable neighbour entry', route: { dev: 'eth0', gateway: '10.0.0.1' } }), undefined);
  });

  it('the kernel saying there is no route takes the real out', () => {
    assert.equal(nextReach('10.0.0.11', known, { unreachable: 'RTNETLINK answers: Network is unreachable' }), undefined);
  });

  it('a new answer replaces the old one (a neighbour with another MAC)', () => {
    const moved = { ...known, mac: '02:00:00:00:00:0c' };
    assert.equal(nextReach('10.0.0.11', known, { reached: moved }), moved);
  });

  it('a real never reached stays unreached until a lookup succeeds', () => {
    assert.equal(nextReach('10.0.0.11', undefined, { unknown: 'no usable neighbour entry', route: { dev: 'eth0' } }), undefined);
  });
});
