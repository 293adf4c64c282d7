// Bridge errors without root: errno, code, and a message naming the
// operation and the object.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { BpfError, BpfObject, ifIndex, possibleCpus } from '../../native/index';

describe('native bridge errors', () => {
  it('an unknown interface is ENODEV naming it', () => {
    assert.throws(
      () => ifIndex('nosuchif0'),
      (err: unknown) =>
        err instanceof BpfError &&
        err.errno === 19 &&
        err.code === 'ENODEV' &&
        err.operation === 'find interface nosuchif0' &&
        /^find interface nosuchif0: .+ \(ENODEV\)$/.test(err.message),
    );
  });

  it('a missing object file is ENOENT naming the path', () => {
    assert.throws(() => BpfObject.open('/nonexistent/x.bpf.o'), (err: unknown) => {
      return err instanceof BpfError && err.code === 'ENOENT' && err.message.startsWith('open bpf object /nonexistent/x.bpf.o: ');
    });
  });

  it('a map or program looked up before load is refused by name', () => {
    const obj = BpfObject.open(`${__dirname}/../../../bpf/build/lb.bpf.o`);
    try {
      assert.throws(() => obj.map('vips'), /map vips of .*lb\.bpf\.o before load/);
      assert.throws(() => obj.map('nosuch'), /find map nosuch in/);
      assert.ok(obj.mapNames().includes('flows'));
    } finally {
      obj.close();
    }
  });

  it('counts possible CPUs', () => {
    assert.ok(possibleCpus() >= 1);
  });
});
