// Lab topologies (tests, demo, bench): namespaces and veth pairs this process creates, named with
// its pid, and removed in cleanup() (called from `finally` / `after`, and on
// exit as a last resort) even when a test fails.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
}

export class Topology {
  private readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private readonly mounts: string[] = [];
  private readonly onExit = (): void => this.cleanup();

  constructor(tag: string) {
    this.prefix = `xv${tag}${process.pid % 100000}`;
    process.once('exit', this.onExit);
  }

  /** A short, unique name (interface names hold 15 characters). */
  name(suffix: string): string {
    return `${this.prefix}${suffix}`.slice(0, 15);
  }

  netns(suffix: string): string {
    const ns = this.name(suffix);
    sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A veth pair in the root namespace; `peerNs` moves the peer there. */
  veth(a: string, b: string, peerNs?: string): void {
    sh('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    this.links.push(a);
    if (peerNs) sh('ip', ['link', 'set', b, 'netns', peerNs]);
    sh('ip', ['link', 'set', a, 'up']);
    if (peerNs) sh('ip', ['-n', peerNs, 'link', 'set', b, 'up']);
    else sh('ip', ['link', 'set', b, 'up']);
  }

  /** A private bpffs mount for pins. */
  bpffs(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-bpffs-'));
    sh('mount', ['-t', 'bpf', 'bpf', dir]);
    this.mounts.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.mounts.splice(0)) {
      try {
        sh('umount', [dir]);
        fs.rmdirSync(dir);
      } catch {
        /* already gone */
      }
    }
    for (const link of this.links.splice(0)) {
      try {
        sh('ip', ['link', 'del', link]);
      } catch {
        /* went with its namespace */
      }
    }
    for (const ns of this.namespaces.splice(0)) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
    process.removeListener('exit', this.onExit);
  }
}
