// What the control socket answers: `list` and `stats` read the status view;
// `real` changes a runtime weight through whoever owns the reals' state.
import type { Answer, Request, ServiceRow, StatsAnswer, VrrpRow } from './protocol';

/** The status view's part the socket reads (agent/status/view.ts). */
export interface StatusReader {
  services(): ServiceRow[];
  vrrpStatus(): VrrpRow[];
  stats(): StatsAnswer;
}

/** Sets (or with undefined, clears) a real's runtime weight; throws an Error naming the field that is wrong. */
export type WeightSetter = (service: string, real: string, weight: number | undefined) => void;

export function answer(req: Request, status: StatusReader, setWeight: WeightSetter): Answer {
  if (req.cmd === 'list') return { ok: true, services: status.services(), vrrp: status.vrrpStatus() };
  if (req.cmd === 'stats') return { ok: true, stats: status.stats() };
  try {
    setWeight(req.service, req.real, req.weight ?? undefined);
    return { ok: true, done: `${req.service} -> ${req.real}: weight ${req.weight ?? 'as configured'}` };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
