// Which of xdpvs's programs are attached where, and taking them all off: what
// a package removal does after the agent is gone (an agent stopped with
// SIGUSR2 leaves its program attached and its maps pinned on purpose).
import * as fs from 'node:fs';
import { detachXdp, programById, queryXdp, type XdpMode } from '../../native/index';

/** The function names of the director and decap programs (bpf/lb.bpf.c, bpf/decap.bpf.c). */
export const DIRECTOR_PROGRAM = 'xdpvs_lb';
export const DECAP_PROGRAM = 'xdpvs_decap';

export interface AttachedProgram {
  iface: string;
  name: string;
  id: number;
  mode: XdpMode;
}

/** This namespace's interfaces, as the kernel lists them. */
export function interfaces(): string[] {
  return fs.readdirSync('/sys/class/net').sort();
}

/** Programs named in `names` attached to `ifaces` (default: every interface). */
export function attachedPrograms(names: readonly string[], ifaces: readonly string[] = interfaces()): AttachedProgram[] {
  const found: AttachedProgram[] = [];
  for (const iface of ifaces) {
    const q = queryXdp(iface);
    for (const [id, mode] of [[q.drvProgId, 'native'], [q.skbProgId, 'generic']] as const) {
      if (!id) continue;
      const prog = programById(id);
      try {
        if (names.includes(prog.name)) found.push({ iface, name: prog.name, id, mode });
      } finally {
        prog.close();
      }
    }
  }
  return found;
}

/** Detaches every program of `names` from `ifaces` (default: all) and removes the pin directories; what was done. */
export function removeDataplane(
  names: readonly string[],
  pinDirs: readonly string[],
  ifaces?: readonly string[],
): { detached: AttachedProgram[]; removedPins: string[] } {
  const detached = attachedPrograms(names, ifaces);
  for (const p of detached) detachXdp(p.iface, p.mode);
  const removedPins = pinDirs.filter((d) => fs.existsSync(d));
  for (const d of removedPins) fs.rmSync(d, { recursive: true, force: true });
  return { detached, removedPins };
}
