// The bridge's root-only operations on the real object: read-only config set
// before load, per-CPU values, map creation, pins and unpin.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { LB_OBJECT } from '../../agent/dataplane/lb';
import { BpfError, BpfObject, createMap, MapType, openPinnedMap, openPinnedProgram, possibleCpus, unpin } from '../../native/index';
import { Topology } from '../support/netns';
import { pinToOneCpu } from '../support/cpu';
import { requireRoot } from '../support/root';

const zero = Buffer.alloc(4);

describe('native bridge on a loaded object', () => {
  it('sets a read-only data section before load and reads it back after', () => {
    requireRoot('packet');
    pinToOneCpu();
    const obj = BpfObject.open(LB_OBJECT);
    try {
      const size = obj.mapDef('lb.rodata').valueSize;
      assert.throws(
        () => obj.setInitialValue('lb.rodata', Buffer.alloc(size + 1)),
        (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && e.message.startsWith('set initial value of map lb.rodata in'),
      );
      const value = Buffer.alloc(size, 0x5a);
      obj.setInitialValue('lb.rodata', value);
      obj.load();
      assert.deepEqual(obj.map('lb.rodata').lookup(zero), value);
    } finally {
      obj.close();
    }
  });

  it('batch update writes entries in one call; a batch walk in small steps finds each once and ends', () => {
    requireRoot('packet');
    pinToOneCpu();
    const n = 5000;
    for (const type of [MapType.LRU_HASH, MapType.HASH, MapType.ARRAY]) {
      const m = createMap({ type, name: 'batch', keySize: 4, valueSize: 8, maxEntries: 8192 });
      try {
        const keys = Buffer.alloc(n * 4);
        const values = Buffer.alloc(n * 8);
        for (let i = 0; i < n; i++) {
          keys.writeUInt32LE(i, i * 4);
          values.writeUInt32LE(i * 3, i * 8);
        }
        m.updateBatch(keys, values, n);
        const seen = new Map<number, number>();
        let cursor: Buffer | undefined;
        let batches = 0;
        do {
          const b = m.lookupBatch(cursor, 700);
          assert.ok(b.count <= 700);
          for (let i = 0; i < b.count; i++) {
            const k = b.keys.readUInt32LE(i * 4);
            assert.equal(seen.has(k), false, `key ${k} read twice`);
            seen.set(k, b.values.readUInt32LE(i * 8));
          }
          cursor = b.next;
        } while (cursor && ++batches < 100);
        assert.equal(cursor, undefined, 'the walk ended');
        // an array holds every index; the hashes hold what was written
        assert.equal(seen.size, type === MapType.ARRAY ? 8192 : n);
        for (let i = 0; i < n; i++) assert.equal(seen.get(i), i * 3);
      } finally {
        m.close();
      }
    }
  });

  it('a batch update of too few bytes, or of a bad flag, names the map and the entries', () => {
    requireRoot('packet');
    pinToOneCpu();
    const m = createMap({ type: MapType.HASH, name: 'batchbad', keySize: 4, valueSize: 4, maxEntries: 4 });
    try {
      assert.throws(() => m.updateBatch(Buffer.alloc(4), Buffer.alloc(8), 2), /batch update map batchbad .*2 entries want 8 key and 8 value bytes/);
      assert.throws(
        () => m.updateBatch(Buffer.alloc(8), Buffer.alloc(8), 2, 99),
        (e: unknown) => e instanceof BpfError && e.code === 'EINVAL' && /batch update \(2 entries\) of map batchbad/.test(e.message),
      );
    } finally {
      m.close();
    }
  });

  it('per-CPU maps answer one value per possible CPU and take one value for all', () => {
    requireRoot('packet');
    pinToOneCpu();
    const m = createMap({ type: MapType.PERCPU_ARRAY, name: 'pcpu', keySize: 4, valueSize: 12, maxEntries: 2 });
    try {
      const v = Buffer.from('0102030405060708090a0b0c', 'hex');
      m.update(zero, v);
      const all = m.lookupPerCpu(zero);
      assert.equal(all?.length, possibleCpus());
      for (const one of all ?? []) assert.deepEqual(one, v);
      assert.throws(() => m.lookup(zero), /per-CPU map, use lookupPerCpu/);
      assert.throws(() => m.update(zero, Buffer.alloc(8)), /value is 8 bytes, map wants 12/);
    } finally {
      m.close();
    }
  });

  it('a missing key is undefined, a delete of it false; iteration visits every key', () => {
    requireRoot('packet');
    pinToOneCpu();
    const m = createMap({ type: MapType.HASH, name: 'h', keySize: 4, valueSize: 4, maxEntries: 8 });
    try {
      assert.equal(m.lookup(zero), undefined);
      assert.equal(m.delete(zero), false);
      for (let i = 0; i < 5; i++) m.update(Buffer.from([i, 0, 0, 0]), Buffer.from([i, i, i, i]));
      assert.deepEqual([...m.keys()].map((k) => k[0]).sort(), [0, 1, 2, 3, 4]);
      assert.equal(m.delete(zero), true);
      assert.throws(() => m.lookup(Buffer.alloc(2)), /key is 2 bytes, map wants 4/);
    } finally {
      m.close();
    }
  });

  it('pins, opens the pin, unpins; a bad pin path is an error naming it', () => {
    requireRoot('packet');
    pinToOneCpu();
    const topo = new Topology('b');
    const m = createMap({ type: MapType.ARRAY, name: 'pinme', keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      const dir = topo.bpffs();
      m.update(zero, Buffer.from([7, 0, 0, 0]));
      m.pin(`${dir}/pinme`);
      const again = openPinnedMap(`${dir}/pinme`);
      assert.equal(again.name, 'pinme');
      assert.deepEqual(again.lookup(zero), Buffer.from([7, 0, 0, 0]));
      again.close();
      unpin(`${dir}/pinme`);
      assert.equal(fs.existsSync(`${dir}/pinme`), false);
      assert.throws(() => unpin(`${dir}/pinme`), (e: unknown) => e instanceof BpfError && e.code === 'ENOENT');
      assert.throws(() => m.pin('/nonexistent/dir/pinme'), /pin map pinme at \/nonexistent\/dir\/pinme: .*ENOENT/);

      const obj = BpfObject.open(LB_OBJECT);
      try {
        obj.load();
        const prog = obj.program('xdpvs_lb');
        prog.pin(`${dir}/prog`);
        const pinned = openPinnedProgram(`${dir}/prog`);
        assert.equal(pinned.info().id, prog.info().id);
        assert.equal(pinned.name, 'xdpvs_lb');
        pinned.close();
        unpin(`${dir}/prog`);
      } finally {
        obj.close();
      }
    } finally {
      m.close();
      topo.cleanup();
    }
  });
});
