// vrrp_sync_group: the members move together, as keepalived's do.
//  - FAULT: when a member faults (a tracked interface or script down, a
//    reference address unanswered), every other member faults too and gives
//    its VIPs up, so that, say, the inside VIP follows the outside one; when
//    no member is faulted any more they all leave FAULT together;
//  - MASTER: a member becoming master of its own accord brings the others to
//    MASTER at once;
//  - BACKUP: a master demoted by a better peer takes the others to BACKUP and
//    holds them there until a member is master again.
// Transitions a group imposes never cascade.
import type { VrrpSyncGroup } from '../config/model';

export class SyncGroups {
  /** member -> its group */
  private readonly groupOf = new Map<string, VrrpSyncGroup>();
  /** members in FAULT of their own accord */
  private readonly faulted = new Set<string>();

  constructor(groups: VrrpSyncGroup[]) {
    for (const g of groups) for (const m of g.group) this.groupOf.set(m, g);
  }

  /**
   * A member changed state of its own accord: what the others must do.
   * 'master': bring them to MASTER; 'hold': take them to BACKUP and keep them.
   */
  ownState(member: string, from: string, to: string): { members: string[]; action: 'master' | 'hold' } | undefined {
    const g = this.groupOf.get(member);
    if (!g) return undefined;
    const others = g.group.filter((m) => m !== member);
    if (to === 'MASTER') return { members: others, action: 'master' };
    if (to === 'BACKUP' && from === 'MASTER') return { members: others, action: 'hold' };
    return undefined;
  }

  groupName(member: string): string | undefined {
    return this.groupOf.get(member)?.name;
  }

  /**
   * A member's own fault state changed: the group's fault state for every
   * member not in FAULT of its own accord (the member itself too, once it
   * recovers), as [member, fault, reason]. Members outside any group get
   * nothing.
   */
  ownFault(member: string, fault: boolean): [string, boolean, string][] {
    const g = this.groupOf.get(member);
    if (!g) return [];
    if (fault) this.faulted.add(member);
    else this.faulted.delete(member);
    const groupFaulted = g.group.some((m) => this.faulted.has(m));
    const culprit = g.group.find((m) => this.faulted.has(m));
    return g.group
      .filter((m) => !this.faulted.has(m))
      .map((m) => [m, groupFaulted, groupFaulted ? `sync group ${g.name}: ${culprit} is in FAULT` : `sync group ${g.name}: no member in FAULT`]);
  }
}
