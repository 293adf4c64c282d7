// Polling the lab's VIP from its client: which reals answer, and waiting
// until the ones a test needs do.
import type { Lab } from '../lab/lab';

/** Bodies of n GETs (each a new connection, so a new source port) -> count per real. */
export function spread(lab: Lab, n: number): Map<string, number> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const body = lab.get('/')?.trim() ?? 'FAILED';
    seen.set(body, (seen.get(body) ?? 0) + 1);
  }
  return seen;
}

/** Polls until every named real answers through the VIP (checks passed, next hops reached), within the limit. */
export async function untilServing(lab: Lab, names: string[], limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  const want = new Set(names);
  while (Date.now() < deadline) {
    for (const [name] of spread(lab, 6)) want.delete(name);
    if (want.size === 0) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`reals never served: ${[...want].join(', ')}`);
}
