// Where pinned maps live: a directory on bpffs. /sys/fs/bpf is mounted when
// it is not (as bpftool does); `ip netns exec` gives a fresh /sys without it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const BPF_FS_MAGIC = 0xcafe4a11;
export const BPFFS_ROOT = '/sys/fs/bpf';

function isBpffs(dir: string): boolean {
  try {
    return fs.statfsSync(dir).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/** Makes sure `pinDir` exists on bpffs; throws naming the directory when it cannot. */
export function ensurePinDir(pinDir: string): void {
  const abs = path.resolve(pinDir);
  if (abs.startsWith(`${BPFFS_ROOT}/`) && !isBpffs(BPFFS_ROOT)) {
    fs.mkdirSync(BPFFS_ROOT, { recursive: true });
    execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS_ROOT], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  const parent = fs.existsSync(abs) ? abs : path.dirname(abs);
  if (!isBpffs(parent)) {
    throw new Error(`pin directory ${pinDir} is not on bpffs: mount one there (mount -t bpf bpf DIR) or pick a directory under ${BPFFS_ROOT}`);
  }
  fs.mkdirSync(abs, { recursive: true });
}

/**
 * Pins an object at `pinPath`, replacing what was pinned there: pinned under
 * a temporary name first and renamed over the old pin (bpffs renames like any
 * file system), so a reader finds the old object or the new one, never none.
 * (bpffs refuses names with a dot, hence `_new`.)
 */
export function pinReplacing(pinPath: string, pin: (at: string) => void): void {
  const tmp = `${pinPath}_new`;
  fs.rmSync(tmp, { force: true }); // left by a crash between pin and rename
  pin(tmp);
  fs.renameSync(tmp, pinPath);
}
