// One running vrrp_instance: the raw socket, the codec and the state
// machine wired together, plus what a transition does on the host: VIPs
// added or removed (ip addr, with their prefix and label), gratuitous ARP /
// unsolicited NA bursts, notify scripts, tracking into priority or FAULT.
import * as fs from 'node:fs';
import type { Logger } from 'pino';
import type { VirtualAddress, VrrpInstance } from '../config/model';
import type { Clock } from '../net/clock';
import { same } from '../net/same';
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

/**
 * What the instance holds while MASTER: its VIPs, and keepalived's
 * virtual_ipaddress_excluded (any family, any device), which move with the
 * state but are not carried in adverts.
 */
function owned(i: VrrpInstance): VirtualAddress[] {
  return [...i.virtualAddresses, ...i.excludedAddresses];
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
  /** the next track_interface poll: one slot, replaced at each poll (a list would grow by one a second) */
  private cancelPoll: (() => void) | undefined;
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
    private current: VrrpInstance,
    private readonly deps: RunnerDeps,
  ) {
    const inst = current;
    this.log = deps.log.child({ vrrp: inst.name });
    this.host = deps.host ?? systemHost;
    this.vips = new VipOwner(owned(inst), inst.interface, this.host, this.log, (added) => this.announced(added));
  }

  /** its definition (a reload may change it in place: update()) */
  get inst(): VrrpInstance {
    return this.current;
  }

  /** timer cancel handles it holds (constant while it runs: the soak checks it) */
  get timerHandles(): number {
    return (this.cancelPoll ? 1 : 0) + (this.cancelSecondBurst ? 1 : 0);
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
    if (this.inst.unicastPeers.length > 0) return this.inst.unicastPeers.map(String);
    return [this.inst.family === 'inet' ? VRRP_MCAST4 : VRRP_MCAST6];
  }

  async start(): Promise<void> {
    const i = this.inst;
    this.mac = this.host.mac(i.interface);
    await this.openSockets();
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
    // tracking: scripts through the supervisor (trackingChanged); interfaces are polled every second
    this.startTracking();
    this.retrack(true);
    const resume = this.takeResumeNote();
    // VIPs left on the interface by an agent that died are not ours until we are master again
    if (!resume) await this.vips.settle();
    this.machine.start(resume || i.initialState === 'MASTER');
    this.log.info({ interface: i.interface, vrid: i.virtualRouterId, priority: this.machine.priority, version: i.version, from: this.primary }, 'vrrp instance started');
  }

  /** The receive and send sockets, for the current unicast / multicast setting. */
  private async openSockets(): Promise<void> {
    const i = this.inst;
    const v6 = i.family === 'inet6';
    const vips = new Set(owned(i).map((a) => String(a.addr)));
    const own = (await this.host.addresses(i.interface, i.family, v6 ? 'link' : undefined)).filter((a) => !vips.has(a));
    const primary = String(i.unicastSrcIp ?? own[0] ?? '');
    if (!primary) throw new Error(`vrrp_instance ${i.name}: ${i.interface} has no ${v6 ? 'link-local IPv6' : 'IPv4'} address to send from`);
    const rx = this.host.openSocket(v6 ? 6 : 4, VRRP_PROTO, i.interface, i.unicastPeers.length > 0 ? undefined : this.dsts[0]);
    let tx: VrrpSocket;
    try {
      tx = this.host.openSocket(v6 ? 6 : 4, VRRP_PROTO, i.interface);
      tx.bind(primary);
    } catch (err) {
      rx.close();
      throw err;
    }
    this.primary = primary;
    this.rx = rx;
    this.tx = tx;
    this.tx.watch(() => {}); // what reaches the bound socket is read by rx too: drain it
    this.rx.watch((p) => {
      // read at each packet: a reload may change the interval or password in place
      const c = this.inst;
      const want = { family: c.family, version: c.version, vrid: c.virtualRouterId, advertIntCs: Math.round(c.advertInt * 100), checksumAsV2: c.v3ChecksumAsV2, ...(c.authPass !== undefined ? { authPass: c.authPass } : {}) };
      const d = decodeAdvert(p.data, p, want);
      if (!d.ok) {
        this.counters.dropped[d.reason] = (this.counters.dropped[d.reason] ?? 0) + 1;
        if (d.reason !== 'vrid') this.log.debug({ from: p.src, reason: d.reason }, 'advertisement dropped');
        return;
      }
      this.counters.received++;
      this.machine?.receive(d.advert.priority, d.advert.advertIntCs, p.src);
    });
  }

  /** track_interface polling (every second) and the reference address, for the current definition. */
  private startTracking(): void {
    const i = this.inst;
    this.interfaceStates = new Map(i.trackInterfaces.map((t) => [t.name, this.host.interfaceUp(t.name)]));
    const poll = (): void => {
      let changed = false;
      for (const t of this.inst.trackInterfaces) {
        const up = this.host.interfaceUp(t.name);
        if (up !== this.interfaceStates.get(t.name)) {
          this.interfaceStates.set(t.name, up);
          changed = true;
        }
      }
      if (changed) this.retrack();
      this.cancelPoll = this.deps.clock.setTimer(1000, poll);
    };
    if (i.trackInterfaces.length > 0) this.cancelPoll = this.deps.clock.setTimer(1000, poll);
    if (i.referenceAddress) {
      const address = String(i.referenceAddress);
      this.reference = new ReferenceCheck(address, i.interface, i.advertInt * 1000, i.referenceFall, this.deps.clock, this.host, (up) => {
        this.log[up ? 'info' : 'warn']({ reference: address }, up ? 'reference address answers again' : 'reference address unanswered: cut off');
        this.retrack();
      });
      this.reference.start();
    }
  }

  private stopTracking(): void {
    this.cancelPoll?.();
    this.cancelPoll = undefined;
    this.reference?.stop();
    this.reference = undefined;
  }

  /**
   * A reload changed this instance in a way the protocol allows in place
   * (not its VRID, interface, version or family: supervisor needsRestart):
   * keepalived keeps state across a reload, so no transition, no priority 0.
   * Priority and tracking go through retrack (a master adverts the new
   * priority at once), timing and preemption into the machine, VIPs added or
   * removed as they stand (a master announces the new ones), sockets
   * reopened only if unicast peers or the source changed; notify paths,
   * password and garp settings are read at use.
   */
  async update(next: VrrpInstance): Promise<void> {
    const prev = this.current;
    this.current = next;
    if (!same([prev.unicastPeers, prev.unicastSrcIp], [next.unicastPeers, next.unicastSrcIp])) {
      // the new sockets first: if they cannot be opened the reload fails and the old ones keep serving
      const old = [this.rx, this.tx];
      try {
        await this.openSockets();
      } catch (err) {
        this.current = prev;
        throw err;
      }
      for (const s of old) s?.close();
    }
    if (!same([prev.trackInterfaces, prev.referenceAddress, prev.referenceFall, prev.advertInt], [next.trackInterfaces, next.referenceAddress, next.referenceFall, next.advertInt])) {
      this.stopTracking();
      this.startTracking();
    }
    this.machine?.reconfigure({ advertIntCs: Math.round(next.advertInt * 100), preempt: !next.nopreempt, preemptDelay: next.preemptDelay, primaryAddr: this.primary });
    this.retrack();
    const addressesChanged = !same(prev.virtualAddresses, next.virtualAddresses);
    const settled = this.vips.setAddresses(owned(next));
    if (addressesChanged) this.machine?.advertiseNow();
    await settled;
    this.log.info({ priority: this.priority, state: this.state }, 'vrrp instance updated in place');
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

  /**
   * A tracked script changed state, or was replaced by a reload: the
   * supervisor calls this, so an instance follows the script's current
   * tracker, never one a reload stopped.
   */
  trackingChanged(): void {
    this.retrack();
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
        { version: i.version, vrid: i.virtualRouterId, priority, advertIntCs: Math.round(i.advertInt * 100), addresses: i.virtualAddresses.map((a) => String(a.addr)), ...(i.authPass !== undefined ? { authPass: i.authPass } : {}) },
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

  /** the MAC an address on `dev` is announced with: that device's own */
  private macOf(dev: string): string {
    if (dev === this.inst.interface) return this.mac;
    try {
      return this.host.mac(dev);
    } catch {
      return this.mac;
    }
  }

  private announce(addresses: VirtualAddress[]): void {
    for (let n = 0; n < this.inst.garpMasterRepeat; n++) {
      for (const a of addresses) {
        const dev = a.dev ?? this.inst.interface;
        try {
          // an excluded IPv6 address of an IPv4 instance has no link-local primary to come from: it is its own source (RFC 4861 7.2.6)
          const addr = String(a.addr);
          const src = this.inst.family === 'inet6' ? this.primary : addr;
          this.host.sendFrame(dev, a.addr.v6 ? unsolicitedNa(addr, this.macOf(dev), src) : gratuitousArp(addr, this.macOf(dev)));
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
    this.stopTracking();
    this.cancelSecondBurst?.();
    this.machine?.detach();
    this.closeSockets();
  }

  /** Priority 0 if master (a backup takes over after Skew_Time), VIPs removed. */
  async stop(): Promise<void> {
    this.stopTracking();
    this.cancelSecondBurst?.();
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
