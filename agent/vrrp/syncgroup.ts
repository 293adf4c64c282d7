// vrrp_sync_group: the members move together, as keepalived's do.
//  - FAULT: when a member faults (a tracked interface or script down, a
//    reference address unanswered), every other member faults too and gives
//    its VIPs up, so that, say, the inside VIP follows the outside one; when
//    no member is faulted any more they all leave FAULT together;
//  - MASTER: a member becomes master by its master-down timer only once every
//    other member is master or wants to be (its own timer ran out too); the
//    others then follow at once. Preferring BACKUP this way means a group
//    whose members would win on different directors stays put instead of
//    re-electing for ever;
//  - BACKUP: a master demoted by a better peer takes the others to BACKUP.
// Transitions a group imposes never cascade. The members are looked up live
// (the running instances), so a reload that keeps an instance keeps its state.
import type { VrrpSyncGroup } from '../config/model';
import type { VrrpState } from './machine';

/** What a group needs of a running instance. */
export interface GroupMember {
  readonly state: VrrpState;
  /** in BACKUP with its master-down timer run out: it would be master */
  readonly wantsMaster: boolean;
  /** in FAULT of its own accord (its tracking), not by its group */
  readonly ownFaulted: boolean;
  groupMaster(reason: string): void;
  groupBackup(reason: string): void;
  setGroupFault(reason: string | undefined): void;
}

export class SyncGroups {
  /** member -> its group */
  private readonly groupOf = new Map<string, Pick<VrrpSyncGroup, 'name' | 'group'>>();

  /**
   * `member`: the running instance of that name, if any; `defer`: runs a
   * group's reaction after the transition that caused it has had its own
   * effects (VIPs, notify).
   */
  constructor(
    private readonly groups: Pick<VrrpSyncGroup, 'name' | 'group'>[],
    private readonly member: (name: string) => GroupMember | undefined,
    private readonly defer: (fn: () => void) => void = (fn) => void setImmediate(fn),
  ) {
    for (const g of groups) for (const m of g.group) this.groupOf.set(m, g);
  }

  groupName(member: string): string | undefined {
    return this.groupOf.get(member)?.name;
  }

  /** The other members of `name`'s group that are running. */
  private others(name: string): [string, GroupMember][] {
    const g = this.groupOf.get(name);
    if (!g) return [];
    return g.group.filter((m) => m !== name).flatMap((m) => {
      const r = this.member(m);
      return r ? [[m, r] as [string, GroupMember]] : [];
    });
  }

  /** A member's master-down timer ran out: true if the rest of its group is ready too. */
  mayBecomeMaster(name: string): boolean {
    return this.others(name).every(([, r]) => r.state === 'MASTER' || r.wantsMaster);
  }

  /** A member changed state of its own accord: the others follow it to MASTER, or out of it. */
  ownState(name: string, from: VrrpState, to: VrrpState): void {
    const g = this.groupOf.get(name);
    if (!g) return;
    const reason = `sync group ${g.name}: ${name} is ${to}`;
    if (to === 'MASTER') this.defer(() => this.others(name).forEach(([, r]) => r.groupMaster(reason)));
    else if (to === 'BACKUP' && from === 'MASTER') this.defer(() => this.others(name).forEach(([, r]) => r.groupBackup(reason)));
  }

  /**
   * A member's own fault changed (or a reload brought new members): every
   * member gets its group's fault, named after a faulted member other than
   * itself, or none.
   */
  ownFault(name: string): void {
    const g = this.groupOf.get(name);
    if (!g) return;
    const faulted = g.group.filter((m) => this.member(m)?.ownFaulted);
    for (const m of g.group) {
      const culprit = faulted.find((f) => f !== m);
      this.member(m)?.setGroupFault(culprit !== undefined ? `sync group ${g.name}: ${culprit} is in FAULT` : undefined);
    }
  }

  /** Every group's fault, applied again (after a start or a reload). */
  settle(): void {
    for (const g of this.groups) if (g.group[0] !== undefined) this.ownFault(g.group[0]);
  }
}
