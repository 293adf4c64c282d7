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
