// The split-brain guard's echo check on a fake socket and clock: answers are
// matched by address value, not by how the configuration spelled it.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { ReferenceCheck } from '../../agent/vrrp/reference';
import { FakeClock } from '../support/clock';
import { FakeHost } from '../support/vrrp-host';

/** Runs a check for 10 intervals, answering every echo from `answerFrom` (the kernel's spelling). */
async function run(configured: string, answerFrom: string): Promise<{ up: boolean; changes: boolean[]; dsts: string[] }> {
  const clock = new FakeClock();
  const host = new FakeHost(clock);
  const changes: boolean[] = [];
  const check = new ReferenceCheck(configured, 'eth0', 1000, 2, clock, host, (up) => changes.push(up));
  check.start();
  const sock = host.sockets[0]!;
  for (let n = 0; n < 10; n++) {
    const echo = sock.sent.at(-1)!.data;
    const reply = Buffer.from(echo);
    reply[0] = answerFrom.includes(':') ? 129 : 0;
    sock.deliver({ data: reply, src: answerFrom, dst: '2001:db8::2', ttl: 64 });
    await clock.advance(1000);
  }
  check.stop();
  return { up: check.up, changes, dsts: [...new Set(sock.sent.map((s) => s.dst))] };
}

describe('VRRP reference address', () => {
  it('an upper-case or uncompressed IPv6 reference_address matches the replies: it stays up', async () => {
    for (const configured of ['2001:DB8::1', '2001:db8:0:0:0:0:0:1']) {
      const r = await run(configured, '2001:db8::1');
      assert.deepEqual(r.changes, [], `${configured}: never cut off while answered`);
      assert.equal(r.up, true);
    }
  });

  it('a link-local reference_address with a zone (%eth0) is pinged without the zone and matches the replies', async () => {
    const r = await run('fe80::1%eth0', 'fe80::1');
    assert.deepEqual(r.dsts, ['fe80::1'], 'echoes go to the address itself (the socket is bound to the interface)');
    assert.deepEqual(r.changes, [], 'never cut off while answered');
  });

  it('replies from another address do not count: cut off after fall misses', async () => {
    const r = await run('2001:db8::1', '2001:db8::9');
    assert.deepEqual(r.changes, [false]);
  });
});
