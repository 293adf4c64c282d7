import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { SyncGroups } from '../../agent/vrrp/syncgroup';

describe('vrrp_sync_group', () => {
  const loc = { file: 't', line: 1 };
  it('a member in FAULT faults the others; they leave FAULT when none is faulted any more', () => {
    const g = new SyncGroups([{ name: 'G', group: ['outside', 'inside', 'mgmt'], loc }]);
    assert.deepEqual(g.ownFault('outside', true), [
      ['inside', true, 'sync group G: outside is in FAULT'],
      ['mgmt', true, 'sync group G: outside is in FAULT'],
    ]);
    // a second member faults on its own: the third stays faulted
    assert.deepEqual(g.ownFault('inside', true), [['mgmt', true, 'sync group G: outside is in FAULT']]);
    assert.deepEqual(g.ownFault('outside', false), [['outside', true, 'sync group G: inside is in FAULT'], ['mgmt', true, 'sync group G: inside is in FAULT']]);
    assert.deepEqual(g.ownFault('inside', false), [
      ['outside', false, 'sync group G: no member in FAULT'],
      ['inside', false, 'sync group G: no member in FAULT'],
      ['mgmt', false, 'sync group G: no member in FAULT'],
    ]);
  });

  it('MASTER of its own brings the others to master; a demoted master holds them in backup', () => {
    const g = new SyncGroups([{ name: 'G', group: ['a', 'b'], loc }]);
    assert.deepEqual(g.ownState('a', 'BACKUP', 'MASTER'), { members: ['b'], action: 'master' });
    assert.deepEqual(g.ownState('a', 'MASTER', 'BACKUP'), { members: ['b'], action: 'hold' });
    assert.equal(g.ownState('a', 'INIT', 'BACKUP'), undefined, 'starting as backup imposes nothing');
    assert.equal(new SyncGroups([]).ownState('a', 'BACKUP', 'MASTER'), undefined);
  });

  it('instances outside any group are left alone', () => {
    assert.deepEqual(new SyncGroups([]).ownFault('solo', true), []);
  });
});
