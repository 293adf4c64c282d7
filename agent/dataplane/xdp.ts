// XDP attach and detach for the agent and the CLI. Attaching a program so
// that a restart is hitless and needs no CAP_SYS_ADMIN. The program an interface runs is named by the kernel only by
// id, and turning an id into an fd (BPF_PROG_GET_FD_BY_ID) takes
// CAP_SYS_ADMIN. So every agent pins the program it attached, and the next one
// opens that pin (BPF_OBJ_GET: bpffs file permissions, no capability) and uses
// it for the atomic replace, after checking its id is the attached one.
// Taking everything off (removeDataplane) is what a package removal does
// after the agent is gone: an agent stopped with SIGUSR2 leaves its program
// attached and its maps pinned on purpose.
import * as fs from 'node:fs';
import { attachXdp, BpfError, detachXdp, openPinnedProgram, programById, queryXdp, type BpfProgram, type XdpMode } from '../../native/index';
import { pinReplacing } from './bpffs';

export type { XdpMode } from '../../native/index';
/** Plain attach and detach (the decap program: no pins to hand over). */
export { attachXdp, detachXdp };

export interface Attached {
  mode: XdpMode;
  /** id of the program replaced atomically, if the interface ran one */
  replaced?: number;
}

/** The program pinned at `pinPath`, if any: an earlier agent's, perhaps still attached. */
export function openPinned(pinPath: string): BpfProgram | undefined {
  return fs.existsSync(pinPath) ? openPinnedProgram(pinPath) : undefined;
}

/**
 * The program with this id, to replace it: `pinned` when it is that one;
 * else opened by id (CAP_SYS_ADMIN; how pin directories of agents older than
 * the program pin are taken over), refused unless it is named `name`.
 */
function previous(iface: string, id: number, name: string, pinned: BpfProgram | undefined, pinPath: string): { prog: BpfProgram; owned: boolean } {
  if (pinned && pinned.info().id === id) return { prog: pinned, owned: false };
  let prog: BpfProgram;
  try {
    prog = programById(id);
  } catch (err) {
    if (err instanceof BpfError && err.code === 'EPERM') {
      throw new Error(
        `${iface} runs XDP program id ${id}, which is not the ${name} pinned at ${pinPath} ` +
          `(attached by an agent that did not pin its program, or by something else), and opening a program by id ` +
          `needs CAP_SYS_ADMIN: start this agent once with CAP_SYS_ADMIN to take it over without a gap, ` +
          `or detach it (ip link set dev ${iface} xdp off) and start again`,
      );
    }
    throw err;
  }
  if (prog.name !== name) {
    prog.close();
    throw new Error(`${iface} already has XDP program ${prog.name} (id ${id}): detach it first`);
  }
  return { prog, owned: true };
}

/**
 * Attaches `prog` to `iface`; a program named like it already there (an
 * earlier agent's) is replaced atomically (XDP_FLAGS_REPLACE), anything else
 * is refused by name. `pinned`: the program found at `pinPath` at start.
 */
export function attachReplacing(iface: string, prog: BpfProgram, mode: XdpMode, pinned: BpfProgram | undefined, pinPath: string): Attached {
  const q = queryXdp(iface);
  const existing = q.drvProgId || q.skbProgId;
  const old = existing ? previous(iface, existing, prog.name, pinned, pinPath) : undefined;
  try {
    return { mode: attachXdp(iface, prog, mode, old?.prog), ...(existing ? { replaced: existing } : {}) };
  } finally {
    if (old?.owned) old.prog.close();
  }
}

/** Pins the program now attached, for the next agent (over the previous pin). */
export function pinAttached(prog: BpfProgram, pinPath: string): void {
  pinReplacing(pinPath, (at) => prog.pin(at));
}

export function detach(iface: string, mode: XdpMode): void {
  detachXdp(iface, mode);
}

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
