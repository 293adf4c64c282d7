// The TypeScript ABI mirror (agent/dataplane/abi.ts) against the compiled
// objects' BTF: every struct's size, every member's offset and size, every
// enum's names and values. A change to bpf/include/xdpvs.h without the
// mirror, or the reverse, fails here.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DECAP_STRUCTS, ENUMS, STRUCTS } from '../../agent/dataplane/abi';
import { DECAP_OBJECT, LB_OBJECT } from '../../agent/dataplane/lb';
import { btfEnum, btfStruct } from '../../native/index';

describe('ABI mirror matches BTF', () => {
  const objectOf = (c: string): string => (DECAP_STRUCTS.some((d) => d.c === c) ? DECAP_OBJECT : LB_OBJECT);

  for (const codec of STRUCTS) {
    it(`struct ${codec.c}: size, member offsets and sizes`, () => {
      const btf = btfStruct(objectOf(codec.c), codec.c);
      assert.equal(codec.size, btf.size, `sizeof(struct ${codec.c})`);
      const mirror = Object.values(codec.fields).map((f) => ({ name: f.c, offset: f.offset, size: f.size }));
      const actual = btf.members.map((m) => {
        assert.equal(m.bitSize, 0, `${codec.c}.${m.name} is a bitfield`);
        assert.equal(m.bitOffset % 8, 0);
        return { name: m.name, offset: m.bitOffset / 8, size: m.size };
      });
      assert.deepEqual(mirror, actual);
    });
  }

  for (const [name, values] of Object.entries(ENUMS)) {
    it(`enum ${name}: names and values`, () => {
      for (const obj of [LB_OBJECT, DECAP_OBJECT]) assert.deepEqual(btfEnum(obj, name), values);
    });
  }

  it('a struct missing from BTF is an error naming it', () => {
    assert.throws(() => btfStruct(LB_OBJECT, 'no_such_struct'), /read struct no_such_struct from BTF of .*lb\.bpf\.o: .*ENOENT/);
  });
});
