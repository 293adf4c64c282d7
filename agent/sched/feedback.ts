// lc / wlc / sed / nq in xdpvs: the kernel schedules by a Maglev ring, so the
// agent feeds live connection counts back as ring weights every interval.
// New flows then favour the reals with fewer connections for their weight;
// established flows never move (the flow table keeps them).
//   lc:  share ~ 1 / (C + 1)
//   wlc: share ~ W / (C + 1)
//   sed: share ~ W / (C + 1), as wlc (IPVS's sed differs only in tie-breaks)
//   nq:  reals with no connection take everything; else as sed
// Weights are scaled to 1..SCALE so that small count changes do not rebuild
// the ring; reals of configured weight 0 stay out.
import type { Scheduler } from '../config/model';

export const FEEDBACK_SCHEDULERS: readonly Scheduler[] = ['lc', 'wlc', 'sed', 'nq'];
const SCALE = 100;

export interface Load {
  key: string;
  weight: number;
  /** active connections now */
  active: number;
}

export function feedbackWeights(scheduler: Scheduler, reals: Load[]): Map<string, number> {
  const out = new Map<string, number>();
  const live = reals.filter((r) => r.weight > 0);
  if (live.length === 0) return out;
  const idle = live.filter((r) => r.active === 0);
  const raw = new Map<string, number>();
  for (const r of live) {
    if (scheduler === 'nq' && idle.length > 0) raw.set(r.key, r.active === 0 ? r.weight : 0);
    else raw.set(r.key, (scheduler === 'lc' ? 1 : r.weight) / (r.active + 1));
  }
  const max = Math.max(...raw.values());
  for (const [key, v] of raw) out.set(key, v === 0 ? 0 : Math.max(1, Math.round((v / max) * SCALE)));
  return out;
}
