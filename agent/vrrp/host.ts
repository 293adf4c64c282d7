// What a VRRP instance does to the host, behind one interface so that the
// runner's logic (which VIPs, in which order, which announcements) is unit
// tested on a fake clock with a fake host, without root: the interface's MAC
// and addresses, `ip addr` commands, raw sockets, raw frames, link state.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { openRawSocket, sendFrame, type RawIpSocket, type RawPacket } from '../dataplane/sys';
import { interfaceUp } from './track';

const run = promisify(execFile);

export type { RawPacket };

/** A raw IP socket for one protocol on one interface (the system façade's). */
export type VrrpSocket = RawIpSocket;

export interface VrrpHost {
  /** the interface's MAC address, "aa:bb:..." */
  mac(dev: string): string;
  /** the interface's addresses of one family (optionally of one scope) */
  addresses(dev: string, family: 'inet' | 'inet6', scope?: string): Promise<string[]>;
  /** runs `ip ARGS`; rejects with ip's error message */
  ip(args: string[]): Promise<void>;
  openSocket(family: 4 | 6, protocol: number, ifname: string, group?: string): VrrpSocket;
  /** one Ethernet frame out of `dev` as it is (gratuitous ARP, unsolicited NA) */
  sendFrame(dev: string, frame: Buffer): void;
  interfaceUp(name: string): boolean;
}

export const systemHost: VrrpHost = {
  mac: (dev) => fs.readFileSync(`/sys/class/net/${dev}/address`, 'utf8').trim(),
  async addresses(dev, family, scope) {
    const args = ['-j', family === 'inet' ? '-4' : '-6', 'addr', 'show', 'dev', dev, ...(scope ? ['scope', scope] : [])];
    const { stdout } = await run('ip', args, { timeout: 5000 });
    const links = JSON.parse(stdout || '[]') as { addr_info?: { local?: string }[] }[];
    return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local ?? '')).filter(Boolean);
  },
  async ip(args) {
    await run('ip', args, { timeout: 5000 });
  },
  openSocket: openRawSocket,
  sendFrame,
  interfaceUp,
};
