// Counter deltas: how many packets each reason gained between two readings.
import type { VerdictStatsValue } from '../../agent/dataplane/abi';

export function packetDeltas(before: VerdictStatsValue[], after: VerdictStatsValue[]): bigint[] {
  return after.map((a, i) => a.packets - (before[i]?.packets ?? 0n));
}

/** The delta every reason should show when exactly `reason` counted one packet. */
export function onlyOne(reason: number, reasons: number): bigint[] {
  return Array.from({ length: reasons }, (_, i) => (i === reason ? 1n : 0n));
}
