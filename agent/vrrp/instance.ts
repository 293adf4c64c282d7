// One running vrrp_instance: the raw socket, the codec and the state
// machine wired together, plus what a transition does on the host: VIPs
// added or removed (ip addr, with their prefix and label), gratuitous ARP /
// unsolicited NA bursts, notify scripts, tracking into priority or FAULT.
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import type { VirtualAddress, VrrpInstance } from '../config/model';
import type { Clock } from '../health/monitor';
import { gratuitousArp, unsolicitedNa } from './announce';
import { systemHost, type VrrpHost, type VrrpSocket } from './host';
import { VrrpMachine, type VrrpState } from './machine';
import { decodeAdvert, encodeAdvert, VRRP_MCAST4, VRRP_MCAST6, VRRP_PROTO, type DropReason } from './packet';
import { effectivePriority, type ScriptTracker, type TrackState } from './track';
import { ReferenceCheck } from './reference';
import { VipOwner } from './vips';

export interface VrrpCounters {
  received: number;
  sent: number;
  dropped: Partial<Record<DropReason, number>>;
  transitions: number;
}

export interface RunnerDeps {
  clock: Clock;
  log: Logger;
  scripts: Map<string, ScriptTracker>;
  runScript: (command: string | undefined) => void;
  onState?: (name: string, state: VrrpState) => void;
  /** where an agent restart (SIGUSR2) leaves which instances were master */
  stateDir: string;
  /** this instance's own fault (tracking) changed: for its sync group */
  onOwnFault?: (name: string, fault: boolean) => void;
  /** this instance changed state of its own accord (not by its group): for its sync group */
  onOwnState?: (name: string, from: VrrpState, to: VrrpState) => void;
  /** its master-down timer ran out: may it become master, as far as its sync group goes? */
  mayBecomeMaster?: (name: string) => boolean;
  /** the host's interfaces, addresses and sockets (tests: a fake) */
  host?: VrrpHost;
}

const RESUME_FILE = 'vrrp-resume.json';
/** a resume note older than this is ignored: the VIPs may have moved meanwhile */
const RESUME_MAX_AGE_MS = 10_000;

export class VrrpRunner {
  readonly counters: VrrpCounters = { received: 0, sent: 0, dropped: {}, transitions: 0 };
  private machine: VrrpMachine | undefined;
  /** receives: unbound (a bound raw socket only sees packets to its own address), joined to the group */
  private rx: VrrpSocket | undefined;
  /** sends: bound to our primary address, which the v3 checksum covers */
  private tx: VrrpSocket | undefined;
  private primary = '';
  private mac = '';
  private readonly cancels: (() => void)[] = [];
  private interfaceStates = new Map<string, boolean>();
  private reference: ReferenceCheck | undefined;
  /** its own fault, from tracking */
  private ownFault: string | undefined;
  /** imposed by its sync group */
  private groupFault: string | undefined;
  private readonly log: Logger;
  private readonly host: VrrpHost;
  private readonly vips: VipOwner;
  /** the second announcement burst, garp_master_delay after the first */
  private cancelSecondBurst: (() => void) | undefined;

  constructor(
    readonly inst: VrrpInstance,
    private readonly deps: RunnerDeps,
  ) {
    this.log = deps.log.child({ vrrp: inst.name });
    this.host = deps.host ?? systemHost;
    this.vips = new VipOwner(inst.virtualAddresses, inst.interface, this.host, this.log, (added) => this.announced(added));
  }

  get state(): VrrpState {
    return this.machine?.state ?? 'INIT';
  }

  get wantsMaster(): boolean {
    return this.machine?.wantsMaster ?? false;
  }

  /** in FAULT by its own tracking (not by its sync group) */
  get ownFaulted(): boolean {
    return this.ownFault !== undefined;
  }

  get priority(): number {
    return this.machine?.priority ?? this.inst.priority;
  }

  private get dsts(): string[] {
    if (this.inst.unicastPeers.length > 0) return this.inst.unicastPeers;
    return [this.inst.family === 'inet' ? VRRP_MCAST4 : VRRP_MCAST6];
  }

  async start(): Promise<void> {
    const i = this.inst;
    const v6 = i.family === 'inet6';
    this.mac = this.host.mac(i.interface);
    const vips = new Set(i.virtualAddresses.map((a) => a.addr));
    const own = (await this.host.addresses(i.interface, i.family, v6 ? 'link' : undefined)).filter((a) => !vips.has(a));
    this.primary = i.unicastSrcIp ?? own[0] ?? '';
    if (!this.primary) throw new Error(`vrrp_instance ${i.name}: ${i.interface} has no ${v6 ? 'link-local IPv6' : 'IPv4'} address to send from`);
    this.rx = this.host.openSocket(v6 ? 6 : 4, VRRP_PROTO, i.interface, i.unicastPeers.length > 0 ? undefined : this.dsts[0]);
    this.tx = this.host.openSocket(v6 ? 6 : 4, VRRP_PROTO, i.interface);
    this.tx.bind(this.primary);
    this.tx.watch(() => {}); // what reaches the bound socket is read by rx too: drain it
    const want = { family: i.family, version: i.version, vrid: i.virtualRouterId, advertIntCs: Math.round(i.advertInt * 100), checksumAsV2: i.v3ChecksumAsV2, ...(i.authPass !== undefined ? { authPass: i.authPass } : {}) };
    this.rx.watch((p) => {
      const d = decodeAdvert(p.data, p, want);
      if (!d.ok) {
        this.counters.dropped[d.reason] = (this.counters.dropped[d.reason] ?? 0) + 1;
        if (d.reason !== 'vrid') this.log.debug({ from: p.src, reason: d.reason }, 'advertisement dropped');
        return;
      }
      this.counters.received++;
      this.machine?.receive(d.advert.priority, d.advert.advertIntCs, p.src);
    });

    this.machine = new VrrpMachine(
      { version: i.version, priority: i.priority, advertIntCs: Math.round(i.advertInt * 100), preempt: !i.nopreempt, preemptDelay: i.preemptDelay, primaryAddr: this.primary },
      this.deps.clock,
      {
        sendAdvert: (priority) => this.send(priority),
        becomeMaster: () => void this.vips.hold(true),
        releaseMaster: () => void this.vips.hold(false),
        stateChanged: (state, reason, byGroup) => this.changed(state, reason, byGroup),
        mayBecomeMaster: () => this.mayBecomeMaster(),
      },
    );
    // tracking: scripts notify; interfaces are polled every second
    for (const t of i.trackScripts) this.deps.scripts.get(t.name)?.onChange(() => this.retrack());
    for (const t of i.trackInterfaces) this.interfaceStates.set(t.name, this.host.interfaceUp(t.name));
    const poll = (): void => {
      let changed = false;
      for (const t of i.trackInterfaces) {
        const up = this.host.interfaceUp(t.name);
        if (up !== this.interfaceStates.get(t.name)) {
          this.interfaceStates.set(t.name, up);
          changed = true;
        }
      }
      if (changed) this.retrack();
      this.cancels.push(this.deps.clock.setTimer(1000, poll));
    };
    if (i.trackInterfaces.length > 0) this.cancels.push(this.deps.clock.setTimer(1000, poll));
    if (i.referenceAddress) {
      this.reference = new ReferenceCheck(i.referenceAddress, i.interface, i.advertInt * 1000, i.referenceFall, this.deps.clock, this.host, (up) => {
        this.log[up ? 'info' : 'warn']({ reference: i.referenceAddress }, up ? 'reference address answers again' : 'reference address unanswered: cut off');
        this.retrack();
      });
      this.reference.start();
    }
    this.retrack(true);
    const resume = this.takeResumeNote();
    // VIPs left on the interface by an agent that died are not ours until we are master again
    if (!resume) await this.vips.settle();
    this.machine.start(resume || i.initialState === 'MASTER');
    this.log.info({ interface: i.interface, vrid: i.virtualRouterId, priority: this.machine.priority, version: i.version, from: this.primary }, 'vrrp instance started');
  }

  private tracked(): TrackState[] {
    const out: TrackState[] = [];
    for (const t of this.inst.trackScripts) {
      const s = this.deps.scripts.get(t.name);
      if (s) out.push({ name: `script ${t.name}`, up: s.up, weight: t.weight ?? s.script.weight, reverse: t.reverse || s.script.reverse });
    }
    for (const t of this.inst.trackInterfaces) out.push({ name: `interface ${t.name}`, up: this.interfaceStates.get(t.name) ?? false, weight: t.weight ?? 0, reverse: t.reverse });
    if (this.reference) out.push({ name: `reference address ${this.reference.address}`, up: this.reference.up, weight: 0, reverse: false });
    return out;
  }

  private retrack(initial = false): void {
    if (!this.machine) return;
    const { priority, fault } = effectivePriority(this.inst.priority, this.tracked());
    if (priority !== this.machine.priority) this.log.info({ priority }, 'priority changed by tracking');
    this.machine.setPriority(priority);
    const changed = (fault === undefined) !== (this.ownFault === undefined);
    this.ownFault = fault;
    this.applyFault(initial);
    if (changed) this.deps.onOwnFault?.(this.inst.name, fault !== undefined);
  }

  /** Its sync group's fault (undefined: none). */
  setGroupFault(reason: string | undefined): void {
    this.groupFault = reason;
    this.applyFault(false);
  }

  private applyFault(initial: boolean): void {
    if (!this.machine) return;
    const reason = this.ownFault ?? this.groupFault;
    if (initial && reason === undefined) return;
    this.machine.setFault(reason !== undefined, reason ?? 'tracked objects up again');
  }

  private send(priority: number): void {
    if (!this.tx) return;
    const i = this.inst;
    for (const dst of this.dsts) {
      const msg = encodeAdvert(
        { version: i.version, vrid: i.virtualRouterId, priority, advertIntCs: Math.round(i.advertInt * 100), addresses: i.virtualAddresses.map((a) => a.addr), ...(i.authPass !== undefined ? { authPass: i.authPass } : {}) },
        i.family,
        this.primary,
        dst,
        i.v3ChecksumAsV2,
      );
      try {
        this.tx.send(msg, dst);
        this.counters.sent++;
      } catch (err) {
        this.log.warn({ dst, err: (err as Error).message }, 'advertisement not sent');
      }
    }
  }

  /** Every VIP is in place and still wanted: tell the switches and neighbours. */
  private announced(added: VirtualAddress[]): void {
    this.announce(added);
    // keepalived's second burst garp_master_delay later, for switches that missed the first
    this.cancelSecondBurst?.();
    this.cancelSecondBurst = this.deps.clock.setTimer(this.inst.garpMasterDelay * 1000, () => {
      this.cancelSecondBurst = undefined;
      if (this.vips.held) this.announce(added);
    });
  }

  private announce(addresses: VirtualAddress[]): void {
    for (let n = 0; n < this.inst.garpMasterRepeat; n++) {
      for (const a of addresses) {
        const dev = a.dev ?? this.inst.interface;
        try {
          this.host.sendFrame(dev, this.inst.family === 'inet' ? gratuitousArp(a.addr, this.mac) : unsolicitedNa(a.addr, this.mac, this.primary));
        } catch (err) {
          this.log.warn({ vip: a.addr, err: (err as Error).message }, 'announcement not sent');
        }
      }
    }
  }

  private lastState: VrrpState = 'INIT';

  /** Its sync group's decisions (agent/vrrp/syncgroup.ts). */
  groupMaster(reason: string): void {
    this.machine?.groupMaster(reason);
  }

  groupBackup(reason: string): void {
    this.machine?.groupBackup(reason);
  }

  private waitingForGroup = false;

  private mayBecomeMaster(): boolean {
    const ok = this.deps.mayBecomeMaster?.(this.inst.name) ?? true;
    if (!ok && !this.waitingForGroup) this.log.info('master down: stays BACKUP until the rest of its sync group wants MASTER too');
    this.waitingForGroup = !ok;
    return ok;
  }

  private changed(state: VrrpState, reason: string, byGroup: boolean): void {
    const from = this.lastState;
    this.lastState = state;
    this.counters.transitions++;
    this.log[state === 'FAULT' ? 'warn' : 'info']({ state, reason, priority: this.priority }, `vrrp ${state}`);
    const i = this.inst;
    const script = { MASTER: i.notifyMaster, BACKUP: i.notifyBackup, FAULT: i.notifyFault, INIT: i.notifyStop }[state];
    this.deps.runScript(script);
    if (i.notify) this.deps.runScript(`${i.notify} INSTANCE ${i.name} ${state === 'INIT' ? 'STOP' : state} ${this.priority}`);
    this.deps.onState?.(i.name, state);
    if (!byGroup) this.deps.onOwnState?.(i.name, from, state);
  }

  private takeResumeNote(): boolean {
    const file = `${this.deps.stateDir}/${RESUME_FILE}`;
    try {
      const note = JSON.parse(fs.readFileSync(file, 'utf8')) as { at: number; masters: string[] };
      const fresh = Date.now() - note.at < RESUME_MAX_AGE_MS;
      return fresh && note.masters.includes(this.inst.name);
    } catch {
      return false;
    }
  }

  /** Records, for the next agent, that this instance was master when the agent restarted. */
  static noteMasters(stateDir: string, masters: string[]): void {
    fs.writeFileSync(`${stateDir}/${RESUME_FILE}`, JSON.stringify({ at: Date.now(), masters }));
  }

  /** Goes silent keeping the VIPs (an agent restart: the next agent resumes). */
  abandon(): void {
    for (const c of this.cancels.splice(0)) c();
    this.cancelSecondBurst?.();
    this.reference?.stop();
    this.machine?.detach();
    this.closeSockets();
  }

  /** Priority 0 if master (a backup takes over after Skew_Time), VIPs removed. */
  async stop(): Promise<void> {
    for (const c of this.cancels.splice(0)) c();
    this.cancelSecondBurst?.();
    this.reference?.stop();
    this.machine?.stop();
    await this.vips.hold(false);
    this.closeSockets();
  }

  private closeSockets(): void {
    this.rx?.close();
    this.tx?.close();
    this.rx = this.tx = undefined;
  }
}
