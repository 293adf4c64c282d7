// The VRRP state machine of RFC 5798 section 6 (RFC 3768 for v2), with
// keepalived's FAULT state. Pure: the clock and every effect (send an
// advert, take or release the VIPs, notify) are injected, so it is tested on
// a fake clock and wired to raw sockets by agent/vrrp/instance.ts.
//
// Times are in centiseconds, as VRRPv3 carries them.
//   Skew_Time            = ((256 - Priority) * Master_Adver_Interval) / 256
//   Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time
import type { Clock } from '../net/clock';
import ipaddr from 'ipaddr.js';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export interface MachineConfig {
  version: 2 | 3;
  /** priority after tracking; 255 = address owner */
  priority: number;
  /** our Advertisement_Interval, centiseconds */
  advertIntCs: number;
  preempt: boolean;
  /** keepalived preempt_delay: no preemption until this long after start, seconds */
  preemptDelay: number;
  /** our primary address on the interface: breaks priority ties */
  primaryAddr: string;
}

export interface MachineIo {
  sendAdvert(priority: number): void;
  /** add the VIPs, send gratuitous ARP / unsolicited NA */
  becomeMaster(): void;
  /** remove the VIPs */
  releaseMaster(): void;
  /** `byGroup`: the transition was imposed by a sync group (it must not cascade) */
  stateChanged(state: VrrpState, reason: string, byGroup: boolean): void;
  /**
   * Sync group: asked when the master-down timer runs out; false keeps the
   * machine in BACKUP (wanting MASTER) until the rest of its group wants it too.
   */
  mayBecomeMaster?(): boolean;
}

/** a > b, comparing addresses as unsigned numbers (RFC 5798 6.4.3) */
export function addrGreater(a: string, b: string): boolean {
  const x = ipaddr.parse(a).toByteArray();
  const y = ipaddr.parse(b).toByteArray();
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  }
  return false;
}

export class VrrpMachine {
  state: VrrpState = 'INIT';
  private masterAdverIntCs: number;
  private cancelTimer: (() => void) | undefined;
  private startedAt = 0;
  private faulted = false;
  /**
   * In BACKUP, its master-down timer ran out since it last heard a master it
   * must not preempt: it would be master but for its sync group.
   */
  wantsMaster = false;
  private byGroup = false;

  constructor(
    private cfg: MachineConfig,
    private readonly clock: Clock,
    private readonly io: MachineIo,
  ) {
    this.masterAdverIntCs = cfg.advertIntCs;
  }

  get priority(): number {
    return this.cfg.priority;
  }

  skewCs(): number {
    // v2 (RFC 3768): (256 - Priority) / 256 seconds
    const interval = this.cfg.version === 2 ? 100 : this.masterAdverIntCs;
    return ((256 - this.cfg.priority) * interval) / 256;
  }

  masterDownCs(): number {
    return 3 * this.masterAdverIntCs + this.skewCs();
  }

  /**
   * `asMaster`: keepalived's `state MASTER` (or resuming after an agent
   * restart): advertise and take over at once; a better master's next
   * advertisement still sends this one back to backup.
   */
  start(asMaster = false): void {
    this.startedAt = this.clock.now();
    if (this.faulted) return this.transition('FAULT', 'a tracked interface or script is down');
    if (asMaster && this.cfg.priority > 0) {
      this.io.sendAdvert(this.cfg.priority);
      return this.toMaster('configured or resumed as master');
    }
    this.enter();
  }

  /** Initialize's exit (6.4.1): the owner becomes master at once, others backup. */
  private enter(): void {
    if (this.cfg.priority === 255) {
      this.io.sendAdvert(this.cfg.priority);
      this.toMaster('address owner (priority 255)');
    } else {
      this.masterAdverIntCs = this.cfg.advertIntCs;
      this.toBackup('started');
    }
  }

  private timer(cs: number, fn: () => void): void {
    this.cancelTimer?.();
    this.cancelTimer = this.clock.setTimer(cs * 10, fn);
  }

  private transition(state: VrrpState, reason: string): void {
    const was = this.state;
    this.state = state;
    this.wantsMaster = false;
    if (was === 'MASTER' && state !== 'MASTER') this.io.releaseMaster();
    if (state === 'MASTER' && was !== 'MASTER') this.io.becomeMaster();
    this.io.stateChanged(state, reason, this.byGroup);
  }

  private toMaster(reason: string): void {
    this.transition('MASTER', reason);
    this.timer(this.cfg.advertIntCs, () => this.advertTick());
  }

  private advertTick(): void {
    this.io.sendAdvert(this.cfg.priority);
    this.timer(this.cfg.advertIntCs, () => this.advertTick());
  }

  private toBackup(reason: string): void {
    this.transition('BACKUP', reason);
    this.armMasterDown(this.masterDownCs());
  }

  private armMasterDown(cs: number): void {
    this.timer(cs, () => {
      this.wantsMaster = true;
      if (this.io.mayBecomeMaster && !this.io.mayBecomeMaster()) return this.armMasterDown(this.masterDownCs());
      this.io.sendAdvert(this.cfg.priority);
      this.toMaster(`no advertisement for ${(cs / 100).toFixed(2)} s`);
    });
  }

  /** An advertisement that passed decodeAdvert, from `src`. */
  receive(priority: number, advertIntCs: number, src: string): void {
    if (this.state === 'BACKUP') {
      if (priority === 0) {
        // the master is leaving: take over after Skew_Time, not the full interval
        this.armMasterDown(this.skewCs());
        return;
      }
      const mayPreempt = this.cfg.preempt && this.clock.now() - this.startedAt >= this.cfg.preemptDelay * 1000;
      if (!mayPreempt || priority >= this.cfg.priority) {
        this.wantsMaster = false;
        if (this.cfg.version === 3) this.masterAdverIntCs = advertIntCs;
        this.armMasterDown(this.masterDownCs());
      }
      // else: a lower-priority master and we may preempt; the timer runs out
      return;
    }
    if (this.state === 'MASTER') {
      if (priority === 0) {
        this.advertTick();
        return;
      }
      if (priority > this.cfg.priority || (priority === this.cfg.priority && addrGreater(src, this.cfg.primaryAddr))) {
        if (this.cfg.version === 3) this.masterAdverIntCs = advertIntCs;
        this.toBackup(`higher-priority master ${src} (priority ${priority})`);
      }
    }
  }

  /**
   * A reload changed timing or preemption in place (keepalived keeps state
   * across a reload): no transition. A master adverts at the new interval
   * from now on; a v2 backup expects it (v2 has no Master_Adver_Interval of
   * its own, 6.1 of RFC 3768), a v3 backup keeps the one its master sends.
   */
  reconfigure(c: Pick<MachineConfig, 'advertIntCs' | 'preempt' | 'preemptDelay' | 'primaryAddr'>): void {
    const intervalChanged = c.advertIntCs !== this.cfg.advertIntCs;
    this.cfg = { ...this.cfg, ...c };
    if (!intervalChanged) return;
    if (this.cfg.version === 2 || this.state !== 'BACKUP') this.masterAdverIntCs = this.cfg.advertIntCs;
    if (this.state === 'MASTER') this.timer(this.cfg.advertIntCs, () => this.advertTick());
  }

  /** A master tells its backups at once (its address list changed). */
  advertiseNow(): void {
    if (this.state === 'MASTER') this.advertTick();
  }

  /** Tracking changed the priority (keepalived weights). */
  setPriority(priority: number): void {
    if (priority === this.cfg.priority) return;
    this.cfg = { ...this.cfg, priority };
    if (this.state === 'MASTER') this.advertTick(); // tell the backups now
  }

  /** A tracked interface or weight-0 script went down (true) or came back (false). */
  setFault(fault: boolean, reason: string): void {
    if (fault === this.faulted) return;
    this.faulted = fault;
    if (this.state === 'INIT') return;
    if (fault) {
      if (this.state === 'MASTER') this.io.sendAdvert(0);
      this.cancelTimer?.();
      this.transition('FAULT', reason);
    } else if (this.state === 'FAULT') {
      this.enter();
    }
  }

  /** Sync group: another member became master: so does this one, at once. */
  groupMaster(reason: string): void {
    if (this.state !== 'BACKUP') return;
    this.byGroup = true;
    this.io.sendAdvert(this.cfg.priority);
    this.toMaster(reason);
    this.byGroup = false;
  }

  /**
   * Sync group: a member lost mastership to a better peer: this one goes to
   * BACKUP (silent, VIPs released). It becomes master again only with the
   * whole group (mayBecomeMaster).
   */
  groupBackup(reason: string): void {
    if (this.state !== 'MASTER') return;
    this.byGroup = true;
    this.toBackup(reason);
    this.byGroup = false;
  }

  /** Stops the timers without a word or a transition (the process is restarting). */
  detach(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** Shutdown (6.4.2 / 6.4.3): a master sends priority 0 so a backup takes over at once. */
  stop(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.state === 'MASTER') this.io.sendAdvert(0);
    if (this.state !== 'INIT') this.transition('INIT', 'stopped');
  }
}
