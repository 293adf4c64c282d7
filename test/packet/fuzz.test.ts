// Packet fuzzing through BPF_PROG_TEST_RUN: the director and the decap
// program each take FUZZ_N frames (default 1,000,000): random bytes, and
// frames mutated from well-formed fixtures (bytes flipped, fields set to edge
// values, cut at every length, grown). Invariants, for every frame:
//  - the verdict is a documented one (never XDP_ABORTED);
//  - a passed or dropped frame is unchanged;
//  - a forwarded frame has the real's MACs and consistent lengths; a header
//    the program writes (TUN's outer) has a valid checksum, and the input's
//    packet is carried byte for byte (DR: in place; TUN: inside), so its own
//    checksums are valid exactly when they were (the director does not check
//    what it does not change, as a router's fast path does not);
//  - every packet is counted once under exactly one reason, and the reason
//    agrees with the verdict (checked frame by frame on every 64th frame, and
//    as a sum over every batch).
// A failure names the seed (FUZZ_SEED=S FUZZ_N=1 replays it) and the frame.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { DecapReason, Reason } from '../../agent/dataplane/abi';
import { addrBytes } from '../../agent/dataplane/addr';
import { parseAddr, parsePrefix } from '../../agent/net/addr';
import { DecapDataplane } from '../../agent/dataplane/lb';
import { packetDeltas } from '../support/counters';
import { DIRECTOR_MAC, TestDirector, Verdict } from '../support/director';
import {
  ETH_P_IP,
  ETH_P_IPV6,
  PROTO_IPIP,
  PROTO_IPV6,
  PROTO_TCP,
  PROTO_UDP,
  arpRequest,
  eth,
  flowFrame,
  flowIp,
  icmp4Error,
  icmp6Error,
  inetChecksum,
  ipv4,
  ipv6,
  ipv6Ext,
  ipv6Frag,
  mac,
  tcp,
  type FlowSpec,
} from '../support/packet';
import { pinToOneCpu } from '../support/cpu';
import { requireRoot } from '../support/root';
import { rng } from '../support/rng';

const N = Number(process.env.FUZZ_N ?? 1_000_000);
const FIRST_SEED = Number(process.env.FUZZ_SEED ?? 1);
/** frames whose counters are read one by one (the others are checked as a batch sum) */
const SAMPLE_EVERY = 64;
const BATCH = 4096;

const VIP = '192.0.2.10';
const VIP6 = '2001:db8::10';
const UVIP = '192.0.2.20';
const PVIP = '192.0.2.40';
const CLIENT = '198.51.100.7';
const CLIENT6 = '2001:db8:ff::7';
const REAL_MACS = ['02:00:00:00:01:01', '02:00:00:00:01:02', '02:00:00:00:01:03', '02:00:00:00:01:04'];
const RS4 = '10.0.2.1';
const RS6 = 'fd00:2::1';

const EDGE_BYTES = [0x00, 0x01, 0x04, 0x05, 0x06, 0x0f, 0x11, 0x29, 0x2b, 0x2c, 0x3a, 0x3c, 0x40, 0x45, 0x46, 0x4f, 0x60, 0x7f, 0x80, 0x81, 0x86, 0xdd, 0xfe, 0xff];

/**
 * The shortest frame: BPF_PROG_TEST_RUN refuses an XDP frame shorter than an
 * Ethernet header (EINVAL), and no driver hands XDP one either.
 */
const MIN_FRAME = 14;

/** One frame for seed: random bytes (1 in 8), else a fixture mutated 1-4 times. */
function frameFor(seed: number, fixtures: Buffer[]): Buffer {
  const r = rng(seed);
  if (r() < 0.125) {
    const b = Buffer.alloc(MIN_FRAME + Math.floor(r() * 160));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
    return b;
  }
  let f = Buffer.from(fixtures[Math.floor(r() * fixtures.length)]!);
  const rounds = 1 + Math.floor(r() * 4);
  for (let k = 0; k < rounds && f.length > 0; k++) {
    const at = Math.floor(r() * f.length);
    switch (Math.floor(r() * 6)) {
      case 0:
        f[at] = Math.floor(r() * 256);
        break;
      case 1:
        f[at] = EDGE_BYTES[Math.floor(r() * EDGE_BYTES.length)]!;
        break;
      case 2:
        // a 16-bit field (a length, a port, an ethertype) set to an edge value
        if (at + 1 < f.length) f.writeUInt16BE([0, 1, 20, 40, 0x0800, 0x86dd, 0x8100, 0xffff, f.length, f.length - 14][Math.floor(r() * 10)]! & 0xffff, at);
        break;
      case 3:
        f = f.subarray(0, Math.max(MIN_FRAME, at));
        break;
      case 4: {
        const extra = Buffer.alloc(1 + Math.floor(r() * 64));
        for (let i = 0; i < extra.length; i++) extra[i] = Math.floor(r() * 256);
        f = Buffer.concat([f, extra]);
        break;
      }
      default:
        f[at] = f[at]! ^ (1 << Math.floor(r() * 8));
    }
  }
  return f;
}

function l2len(f: Buffer): number {
  const t = f.readUInt16BE(12);
  return t === 0x8100 || t === 0x88a8 ? 18 : 14;
}

/** An IPv4 header's checksum verifies (sum over the header is 0xffff, i.e. inetChecksum 0). */
function ipv4HeaderOk(f: Buffer, off: number): boolean {
  const ihl = (f[off]! & 0x0f) * 4;
  return f.length >= off + ihl && inetChecksum(f.subarray(off, off + ihl)) === 0;
}

/** Checks a forwarded director frame against its input; returns what is wrong, or undefined. */
function forwardedWrong(input: Buffer, out: Buffer, reason: number): string | undefined {
  if (out.length < 14) return 'shorter than an Ethernet header';
  const dst = out.subarray(0, 6).toString('hex');
  const src = out.subarray(6, 12).toString('hex');
  if (reason === Reason.XDPVS_R_TOO_BIG) {
    // the ICMP reply goes back where the packet came from
    if (dst !== input.subarray(6, 12).toString('hex')) return 'ICMP reply not sent back to the sender';
    return undefined;
  }
  if (!REAL_MACS.map((m) => mac(m).toString('hex')).includes(dst)) return `destination MAC ${dst} is no real's`;
  if (src !== mac(DIRECTOR_MAC).toString('hex')) return `source MAC ${src} is not the director's`;
  const l2 = l2len(out);
  const inL2 = l2len(input);
  const inL3 = input.subarray(inL2);
  const type = out.readUInt16BE(l2 - 2);
  // a header the program writes (TUN's outer) is always valid; one it carries
  // (DR's, TUN's inner) is the input's byte for byte, valid when the input's was
  const carried = reason === Reason.XDPVS_R_FWD_DR;
  if (type === ETH_P_IP) {
    if (!ipv4HeaderOk(out, l2) && !(carried && !ipv4HeaderOk(input, inL2))) return 'bad IPv4 header checksum';
    // the packet fits in the frame; bytes after it are Ethernet padding
    const tot = out.readUInt16BE(l2 + 2);
    if (tot < (out[l2]! & 0x0f) * 4 || tot > out.length - l2) return `IPv4 total length ${tot} in ${out.length - l2} bytes`;
  } else if (type === ETH_P_IPV6) {
    const pl = out.readUInt16BE(l2 + 4);
    if (pl > out.length - l2 - 40) return `IPv6 payload length ${pl} in ${out.length - l2 - 40} bytes`;
  } else return `forwarded with ethertype ${type.toString(16)}`;
  if (reason === Reason.XDPVS_R_FWD_DR) {
    if (!out.subarray(l2).equals(inL3)) return 'DR changed the IP packet';
    return undefined;
  }
  // TUN: the input's L3 packet, whole, behind one outer header
  const outerLen = type === ETH_P_IP ? (out[l2]! & 0x0f) * 4 : 40;
  const proto = type === ETH_P_IP ? out[l2 + 9] : out[l2 + 6];
  if (proto !== PROTO_IPIP && proto !== PROTO_IPV6) return `outer protocol ${proto}`;
  const outerTotal = type === ETH_P_IP ? out.readUInt16BE(l2 + 2) : 40 + out.readUInt16BE(l2 + 4);
  const inner = out.subarray(l2 + outerLen, l2 + outerTotal);
  const innerIs4 = (inner[0]! >> 4) === 4;
  if ((proto === PROTO_IPIP) !== innerIs4) return 'outer protocol does not name the inner family';
  // the outer header carries exactly the input's packet, by its own stated length
  const stated = innerIs4 ? inL3.readUInt16BE(2) : 40 + inL3.readUInt16BE(4);
  if (!inner.equals(inL3.subarray(0, stated))) return 'the inner packet is not the input packet';
  return undefined;
}

const DIRECTOR_FIXTURES = (): Buffer[] => {
  const f4: FlowSpec = { client: CLIENT, server: VIP, sport: 40000, dport: 80, payload: Buffer.from('GET / HTTP/1.1\r\n') };
  const f6: FlowSpec = { client: CLIENT6, server: VIP6, sport: 40000, dport: 80 };
  const u4: FlowSpec = { client: CLIENT, server: UVIP, sport: 5353, dport: 53, proto: PROTO_UDP, payload: Buffer.alloc(30, 1) };
  const p4: FlowSpec = { client: CLIENT, server: PVIP, sport: 40001, dport: 443 };
  const big4: FlowSpec = { client: CLIENT, server: VIP, sport: 40002, dport: 8080, payload: Buffer.alloc(1400, 7) };
  return [
    flowFrame(f4),
    flowFrame({ ...f4, vlan: 7 }),
    flowFrame(f6),
    flowFrame(u4),
    flowFrame(p4),
    flowFrame(big4),
    eth({ type: ETH_P_IP }, ipv4({ src: CLIENT, dst: VIP, proto: PROTO_TCP, options: Buffer.from([1, 1, 1, 0]) }, tcp({ src: CLIENT, dst: VIP, sport: 1, dport: 80 }))),
    eth({ type: ETH_P_IPV6 }, ipv6({ src: CLIENT6, dst: VIP6, next: 0 }, ipv6Ext(PROTO_TCP, tcp({ src: CLIENT6, dst: VIP6, sport: 2, dport: 80 })))),
    eth({ type: ETH_P_IPV6 }, ipv6({ src: CLIENT6, dst: VIP6, next: 44 }, ipv6Frag(PROTO_TCP, 0, true, tcp({ src: CLIENT6, dst: VIP6, sport: 3, dport: 80 })))),
    eth({ type: ETH_P_IP }, ipv4({ src: '203.0.113.1', dst: CLIENT, proto: 1 }, icmp4Error(3, 4, 1400, flowIp({ client: VIP, server: CLIENT, sport: 80, dport: 40000 })))),
    eth({ type: ETH_P_IPV6 }, ipv6({ src: 'fd00::9', dst: VIP6, next: 58 }, icmp6Error(2, 0, 1280, flowIp({ client: VIP6, server: CLIENT6, sport: 80, dport: 40000 }), 'fd00::9', VIP6))),
    arpRequest(),
  ];
};

const DECAP_FIXTURES = (): Buffer[] => {
  const in4 = flowIp({ client: CLIENT, server: '192.0.2.11', sport: 40000, dport: 80, payload: Buffer.from('GET /') });
  const in6 = flowIp({ client: CLIENT6, server: '2001:db8::11', sport: 40000, dport: 443 });
  return [
    eth({ type: ETH_P_IP }, ipv4({ src: '10.0.0.1', dst: RS4, proto: PROTO_IPIP }, in4)),
    eth({ type: ETH_P_IP, vlan: 3 }, ipv4({ src: '10.0.0.1', dst: RS4, proto: PROTO_IPV6 }, in6)),
    eth({ type: ETH_P_IPV6 }, ipv6({ src: 'fd00::1', dst: RS6, next: PROTO_IPV6 }, in6)),
    eth({ type: ETH_P_IPV6 }, ipv6({ src: 'fd00::1', dst: RS6, next: PROTO_IPIP }, in4)),
    eth({ type: ETH_P_IP }, in4),
    arpRequest(),
  ];
};

/** The reasons a verdict may carry. */
const DIRECTOR_VERDICTS = new Map<number, number[]>([
  [Verdict.TX, [Reason.XDPVS_R_FWD_DR, Reason.XDPVS_R_FWD_TUN, Reason.XDPVS_R_TOO_BIG]],
  [Verdict.REDIRECT, [Reason.XDPVS_R_FWD_DR, Reason.XDPVS_R_FWD_TUN]],
  [Verdict.PASS, [Reason.XDPVS_R_PASS_NOT_IP, Reason.XDPVS_R_PASS_NOT_VIP, Reason.XDPVS_R_PASS_ICMP, Reason.XDPVS_R_PASS_FRAGMENT, Reason.XDPVS_R_PASS_NOT_LOCAL]],
  [Verdict.DROP, [Reason.XDPVS_R_DROP_MALFORMED, Reason.XDPVS_R_DROP_FRAGMENT, Reason.XDPVS_R_DROP_NO_REAL, Reason.XDPVS_R_DROP_ENCAP, Reason.XDPVS_R_DROP_CONFIG, Reason.XDPVS_R_DROP_TOO_BIG]],
]);

interface Program {
  run(frame: Buffer): { verdict: number; data: Buffer };
  counters(): { packets: bigint }[];
}

/** Runs FUZZ_N frames through `p`; `check` judges one frame given its verdict and reason (undefined: not sampled). */
function fuzz(
  name: string,
  p: Program,
  fixtures: Buffer[],
  verdicts: Map<number, number[]>,
  check: (input: Buffer, out: Buffer, verdict: number, reason: number | undefined) => string | undefined,
): Map<number, number> {
  const seen = new Map<number, number>();
  let batchStart = p.counters();
  let inBatch = 0;
  for (let n = 0; n < N; n++) {
    const seed = FIRST_SEED + n;
    const input = frameFor(seed, fixtures);
    const sampled = n % SAMPLE_EVERY === 0;
    const before = sampled ? p.counters() : undefined;
    const { verdict, data } = p.run(input);
    let reason: number | undefined;
    const fail = (why: string): never =>
      assert.fail(`${name}: ${why}\nseed ${seed} (FUZZ_SEED=${seed} FUZZ_N=1), verdict ${verdict}, reason ${reason}\ninput  ${input.toString('hex')}\noutput ${data.toString('hex')}`);
    if (!verdicts.has(verdict)) fail(`verdict ${verdict} is not a documented one`);
    seen.set(verdict, (seen.get(verdict) ?? 0) + 1);
    if (before) {
      const deltas = packetDeltas(before as never, p.counters() as never);
      const counted = deltas.flatMap((d, i) => (d === 0n ? [] : [[i, d] as const]));
      if (counted.length !== 1 || counted[0]![1] !== 1n) fail(`counted ${JSON.stringify(counted.map(([i, d]) => [i, String(d)]))}, not once under one reason`);
      reason = counted[0]![0];
      if (!verdicts.get(verdict)!.includes(reason)) fail(`reason ${reason} does not go with verdict ${verdict}`);
    }
    const wrong = check(input, data, verdict, reason);
    if (wrong) fail(wrong);
    if (++inBatch === BATCH || n === N - 1) {
      const now = p.counters();
      const total = packetDeltas(batchStart as never, now as never).reduce((a, b) => a + b, 0n);
      if (total !== BigInt(inBatch)) assert.fail(`${name}: ${inBatch} frames from seed ${seed - inBatch + 1} counted ${total} times`);
      batchStart = now;
      inBatch = 0;
    }
  }
  return seen;
}

describe('packet fuzzing', { timeout: 30 * 60_000 }, () => {
  let d: TestDirector;
  let dc: DecapDataplane;

  before(() => {
    requireRoot('packet');
    pinToOneCpu();
    d = new TestDirector();
    for (const [i, m] of REAL_MACS.entries()) {
      const tun = i >= 2;
      d.real(i + 1, { addr: tun ? (i === 2 ? '10.0.1.3' : 'fd00:1::4') : `10.0.1.${i + 1}`, mac: m, srcMac: DIRECTOR_MAC, method: tun ? 'tun' : 'dr', ...(i === 2 ? { mtu: 1000 } : {}) });
    }
    d.vip({ addr: VIP, port: 80, id: 1, table: [1, 2, 3, 4, 1, 2, 3] });
    d.vip({ addr: VIP, port: 8080, id: 2, table: [3, 3, 3, 3, 3] });
    d.vip({ addr: VIP6, port: 80, id: 3, table: [4, 1, 4, 2, 4] });
    d.vip({ addr: UVIP, port: 53, proto: PROTO_UDP, id: 4, sched: 'sh', table: [1, 2, 3, 4, 1] });
    d.vip({ addr: PVIP, port: 0, id: 5, sched: 'rr', persist: 60, table: [2, 1] });
    dc = DecapDataplane.load();
    for (const rs of [RS4, RS6]) {
      const a = addrBytes(parseAddr(rs));
      dc.addAddress({ addr: a.bytes, family: a.family });
    }
    // the fixtures' senders, in prefixes: a mutated source lands in or out
    dc.setSources([parsePrefix('10.0.0.0/24'), parsePrefix('fd00::/64')]);
  });
  after(() => {
    d?.close();
    dc?.close();
  });

  it(`the director program: ${N} frames, every verdict documented, counted once, forwarded frames well-formed`, () => {
    const seen = fuzz('director', { run: (f) => d.run(f), counters: () => d.dp.verdicts() }, DIRECTOR_FIXTURES(), DIRECTOR_VERDICTS, (input, out, verdict, reason) => {
      if (verdict === Verdict.PASS || verdict === Verdict.DROP) return out.equals(input) ? undefined : 'a passed or dropped frame was changed';
      // forwarded: which of the three is known from the counters when sampled, else from the frame
      const r = reason ?? (out.length >= 14 && out.subarray(0, 6).equals(input.subarray(6, 12)) && !REAL_MACS.some((m) => mac(m).equals(out.subarray(0, 6))) ? Reason.XDPVS_R_TOO_BIG : undefined);
      if (r !== undefined) return forwardedWrong(input, out, r);
      const dr = forwardedWrong(input, out, Reason.XDPVS_R_FWD_DR);
      const tun = forwardedWrong(input, out, Reason.XDPVS_R_FWD_TUN);
      return dr && tun ? `neither DR (${dr}) nor TUN (${tun})` : undefined;
    });
    // the mutations reach forwarding, passing and dropping alike
    for (const v of [Verdict.TX, Verdict.PASS, Verdict.DROP]) assert.ok((seen.get(v) ?? 0) > N / 1000, `verdict ${v} seen ${seen.get(v) ?? 0} times`);
  });

  it(`the decap program: ${N} frames, every verdict documented, counted once, decapsulated frames are the inner packet`, () => {
    const verdicts = new Map<number, number[]>([
      [Verdict.PASS, [DecapReason.DECAP_R_DONE, DecapReason.DECAP_R_PASS]],
      [Verdict.DROP, [DecapReason.DECAP_R_MALFORMED, DecapReason.DECAP_R_DROP_SOURCE]],
    ]);
    const seen = fuzz('decap', { run: (f) => dc.program.testRun(f), counters: () => dc.counters() }, DECAP_FIXTURES(), verdicts, (input, out, verdict) => {
      if (verdict === Verdict.DROP || out.equals(input)) return undefined;
      // decapsulated: the same L2 header (ethertype of the inner family), then the inner packet
      const l2 = l2len(input);
      if (out.length < l2 || !out.subarray(0, l2 - 2).equals(input.subarray(0, l2 - 2))) return 'the Ethernet header changed';
      const outerLen = input.readUInt16BE(l2 - 2) === ETH_P_IP ? (input[l2]! & 0x0f) * 4 : 40;
      const inner = out.subarray(l2);
      if (!input.subarray(l2 + outerLen).subarray(0, inner.length).equals(inner)) return 'the output is not the inner packet';
      const innerType = out.readUInt16BE(l2 - 2);
      if (innerType !== ((inner[0]! >> 4) === 4 ? ETH_P_IP : ETH_P_IPV6)) return 'the ethertype does not name the inner family';
      return undefined;
    });
    assert.ok((seen.get(Verdict.PASS) ?? 0) > N / 2, 'most frames pass');
  });
});
