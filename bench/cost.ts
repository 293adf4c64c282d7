// The director's cost per packet, in ns: BPF_PROG_TEST_RUN with `repeat`
// over the cost harness (bpf/cost.bpf.c), which restores the input frame
// before every run so that each run takes the path measured, never the pass
// path of the director's own output. Every figure has its harness
// subtracted: for a director case, the same frame through the harness alone
// (restore, XDP_TX); for the ceiling, the empty program (bpf/pass.bpf.o).
// Rounds are interleaved (every case once per round) and the median is
// reported, so that a disturbance of the machine hits every case alike.
// Each measured run is checked: the verdict counter of its path (and for
// new flows, the VIP's new-flow counter) grew by exactly `repeat`.
// Runs on the CPU of the calling thread: it is pinned to one for the
// duration, and given back the CPUs it had after.
import { BpfObject, type BpfMap } from '../native/index';
import { Reason } from '../agent/dataplane/abi';
import { TestDirector } from '../test/support/director';
import { pinThread } from '../test/support/cpu';
import { flowFrame, PROTO_TCP, PROTO_UDP, TCP_SYN } from '../test/support/packet';
import { median } from './report';
import { OBJ } from './testbed';

const DIRECTOR_MAC = '02:00:00:00:00:01';
const REAL_MAC = '02:00:00:00:01:01';
const ROUTER_MAC = '02:00:00:00:fe:fe';
/** where the harness writes its counter in an IPv4 frame: the source address's last 4 bytes (14 + 12) */
const V4_SRC_OFF = 26;
/** the flow table of the new-flow cases (full, as on a busy director): the data plane's default size */
const FLOWS = 1 << 20;
const FRAME_MAX = 256;

export interface CostOptions {
  rounds: number;
  /** runs per measurement of an established flow (new flows: a fifth) */
  repeat: number;
  /** another build of the harness, to compare two builds of the director (default: bpf/build/cost.bpf.o) */
  objectPath?: string;
  /** the flow table's size, filled before the new-flow cases (default 1M; smoke runs use less, to keep them short under emulation) */
  flows?: number;
}

export interface CostResult {
  case: string;
  description: string;
  /** per round: ns per packet, harness subtracted */
  ns: number[];
  /** per round: the harness's own ns per packet */
  harnessNs: number[];
  /** the goal for this case, ns, where there is one */
  goalNs?: number;
}

interface Case {
  name: string;
  description: string;
  frame: Buffer;
  /** a new flow every run */
  vary?: boolean;
  reason: number;
  vipId: number;
  goalNs?: number;
}

const udp = (client: string, server: string, vlan?: number): Buffer =>
  flowFrame({ client, server, sport: 40000, dport: 80, proto: PROTO_UDP, payload: Buffer.alloc(18, 0x41), dstMac: DIRECTOR_MAC, ...(vlan !== undefined ? { vlan } : {}) });

const CASES: Case[] = [
  { name: 'dr', description: 'DR, established flow, 60-byte UDP', frame: udp('198.51.100.1', '192.0.2.10'), reason: Reason.XDPVS_R_FWD_DR, vipId: 1, goalNs: 50 },
  { name: 'tun', description: 'IPIP, established flow, 60-byte UDP', frame: udp('198.51.100.1', '192.0.2.11'), reason: Reason.XDPVS_R_FWD_TUN, vipId: 2, goalNs: 60 },
  { name: 'dr-ipv6', description: 'DR over IPv6, established flow, 80-byte UDP', frame: udp('2001:db8:1::1', '2001:db8::10'), reason: Reason.XDPVS_R_FWD_DR, vipId: 3 },
  { name: 'tun-ipv6', description: 'IP6IP6, established flow, 80-byte UDP', frame: udp('2001:db8:1::1', '2001:db8::11'), reason: Reason.XDPVS_R_FWD_TUN, vipId: 4 },
  { name: 'dr-vlan', description: 'DR, established flow, 64-byte UDP with an 802.1Q tag', frame: udp('198.51.100.1', '192.0.2.10', 7), reason: Reason.XDPVS_R_FWD_DR, vipId: 1 },
  { name: 'new-flow', description: 'DR, a new UDP flow every packet into a full flow table', frame: udp('198.51.100.1', '192.0.2.10'), vary: true, reason: Reason.XDPVS_R_FWD_DR, vipId: 1, goalNs: 650 },
  {
    name: 'syn-flood',
    description: 'DR, TCP SYNs from a new source every packet into a full flow table (no flood guard yet)',
    frame: flowFrame({ client: '198.51.100.1', server: '192.0.2.12', sport: 40000, dport: 80, proto: PROTO_TCP, flags: TCP_SYN, dstMac: DIRECTOR_MAC }),
    vary: true,
    reason: Reason.XDPVS_R_FWD_DR,
    vipId: 5,
  },
];

/** The director of every case: one object, so the cases share a (full) flow table. */
function director(objectPath: string, flows: number): TestDirector {
  return new TestDirector({ objectPath, maxFlows: flows })
    .real(1, { addr: '10.0.1.1', mac: REAL_MAC, method: 'dr' })
    .real(2, { addr: '10.0.2.1', mac: ROUTER_MAC, method: 'tun' })
    .real(3, { addr: 'fd00:1::1', mac: REAL_MAC, method: 'dr' })
    .real(4, { addr: 'fd00:2::1', mac: ROUTER_MAC, method: 'tun' })
    .vip({ addr: '192.0.2.10', port: 80, proto: PROTO_UDP, id: 1, table: [1] })
    .vip({ addr: '192.0.2.11', port: 80, proto: PROTO_UDP, id: 2, table: [2] })
    .vip({ addr: '2001:db8::10', port: 80, proto: PROTO_UDP, id: 3, table: [3] })
    .vip({ addr: '2001:db8::11', port: 80, proto: PROTO_UDP, id: 4, table: [4] })
    .vip({ addr: '192.0.2.12', port: 80, proto: PROTO_TCP, id: 5, table: [1] });
}

/** The harness's input: the frame, whether each run is a new flow, whether to stop after restoring. */
function frameValue(frame: Buffer, vary: boolean, restoreOnly: boolean, counter: number): Buffer {
  if (frame.length > FRAME_MAX) throw new Error(`cost: a ${frame.length}-byte frame is over the harness's ${FRAME_MAX}`);
  const v = Buffer.alloc(16 + FRAME_MAX);
  v.writeUInt32LE(frame.length, 0);
  v.writeUInt32LE(vary ? V4_SRC_OFF : 0, 4);
  v.writeUInt32LE(restoreOnly ? 1 : 0, 8);
  v.writeUInt32LE(counter, 12);
  frame.copy(v, 16);
  return v;
}

class Harness {
  readonly d: TestDirector;
  private readonly frames: BpfMap;
  /** the next new flow's number: never repeats within the run, so a new-flow case never hits */
  private counter = 1;

  constructor(
    objectPath: string,
    private readonly flows: number,
  ) {
    this.d = director(objectPath, flows);
    this.frames = this.d.dp.extraMap('costframe');
  }

  /** ns per packet over `repeat` runs of `c` (through the director, or the harness alone) */
  measure(c: Case, repeat: number, restoreOnly: boolean): number {
    const key = Buffer.alloc(4);
    this.frames.update(key, frameValue(c.frame, c.vary === true, restoreOnly, this.counter));
    if (c.vary) this.counter += repeat;
    const before = this.d.dp.verdicts()[c.reason]!.packets;
    const newBefore = this.d.dp.vipStats(c.vipId).newFlows;
    const r = this.d.dp.program.testRun(c.frame, { maxOut: c.frame.length + 64, repeat });
    if (!restoreOnly) {
      const took = this.d.dp.verdicts()[c.reason]!.packets - before;
      if (took !== BigInt(repeat)) throw new Error(`cost ${c.name}: ${took} of ${repeat} runs took the measured path (verdict ${r.verdict})`);
      const fresh = this.d.dp.vipStats(c.vipId).newFlows - newBefore;
      if (c.vary && fresh !== BigInt(repeat)) throw new Error(`cost ${c.name}: ${fresh} of ${repeat} runs were new flows`);
    }
    return r.duration;
  }

  /** Fills the flow table, as on a busy director, before the new-flow cases are read. */
  fill(): void {
    const c = CASES.find((x) => x.vary)!;
    const step = Math.min(this.flows, 1 << 18);
    for (let n = 0; n < this.flows; n += step) this.measure(c, step, false);
  }

  close(): void {
    this.d.close();
  }
}

/** The empty program's and the ceiling's ns per packet (the ceiling rewrites in place: no restore needed). */
function ceilingNs(repeat: number): { ns: number; harness: number } {
  const frame = udp('198.51.100.1', '192.0.2.10');
  const empty = BpfObject.open(OBJ('pass'));
  const ceiling = BpfObject.open(OBJ('ceiling'));
  try {
    empty.load();
    ceiling.load();
    ceiling.map('ceiltarget').update(Buffer.alloc(4), Buffer.concat([Buffer.from([2, 0, 0, 0, 1, 1]), Buffer.alloc(2)]));
    const harness = empty.program('xdpvs_pass').testRun(frame, { repeat }).duration;
    const ns = ceiling.program('xdpvs_ceiling').testRun(frame, { repeat }).duration;
    return { ns, harness };
  } finally {
    empty.close();
    ceiling.close();
  }
}

/** Every case, `rounds` times interleaved. */
export function measureCosts(o: CostOptions): CostResult[] {
  return compareCosts(o, { current: o.objectPath ?? OBJ('cost') }).get('current')!;
}

/**
 * Several builds of the harness (name -> object), all loaded at once and
 * measured in the same interleaved rounds, so that a comparison between
 * builds is a comparison within one run.
 */
export function compareCosts(o: CostOptions, builds: Record<string, string>): Map<string, CostResult[]> {
  const out = new Map<string, CostResult[]>();
  for (const name of Object.keys(builds)) {
    out.set(name, [
      { case: 'ceiling', description: 'the ceiling program: fixed MAC rewrite + XDP_TX', ns: [], harnessNs: [] },
      ...CASES.map((c) => ({
        case: c.name,
        description: c.vary ? `${c.description} of ${o.flows ?? FLOWS} entries` : c.description,
        ns: [],
        harnessNs: [],
        ...(c.goalNs ? { goalNs: c.goalNs } : {}),
      })),
    ]);
  }
  const had = pinThread('0');
  const harnesses = new Map<string, Harness>();
  try {
    for (const [name, objectPath] of Object.entries(builds)) harnesses.set(name, new Harness(objectPath, o.flows ?? FLOWS));
    for (const h of harnesses.values()) h.fill();
    for (let round = 0; round < o.rounds; round++) {
      for (const [name, h] of harnesses) {
        const results = out.get(name)!;
        const ceil = ceilingNs(o.repeat);
        results[0]!.ns.push(ceil.ns - ceil.harness);
        results[0]!.harnessNs.push(ceil.harness);
        CASES.forEach((c, i) => {
          const repeat = c.vary ? Math.max(1, Math.round(o.repeat / 5)) : o.repeat;
          const harness = h.measure(c, repeat, true);
          const ns = h.measure(c, repeat, false);
          results[i + 1]!.ns.push(ns - harness);
          results[i + 1]!.harnessNs.push(harness);
        });
      }
    }
  } finally {
    for (const h of harnesses.values()) h.close();
    pinThread(had);
  }
  return out;
}

/** "42 ns (40-45)" and the goal, for logs. */
export function costLine(r: CostResult): string {
  const ns = median(r.ns);
  const goal = r.goalNs ? `, goal <= ${r.goalNs} ns${ns <= r.goalNs ? '' : ': not met'}` : '';
  return `${r.case}: ${ns.toFixed(1)} ns/packet (${Math.min(...r.ns).toFixed(1)}-${Math.max(...r.ns).toFixed(1)}; harness ${median(r.harnessNs).toFixed(1)} ns)${goal}`;
}
