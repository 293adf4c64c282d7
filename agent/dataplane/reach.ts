// How the director reaches each real: the kernel's own routing and
// neighbour tables (iproute2's JSON output) give the egress device, the next
// hop and its MAC, and the source address an outer tunnel header should carry.
// A real whose next hop has no MAC yet gets a datagram to port 9 (discard),
// which makes the kernel resolve it; the next pass finds the MAC.
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import type { Reach } from '../reconcile/desired';
import { ifIndex } from '../../native/index';

const run = promisify(execFile);

export interface Route {
  dev: string;
  gateway?: string;
  prefsrc?: string;
  /** the route's own mtu (ip route ... mtu N), if it has one */
  mtu?: number;
}

export interface Resolved extends Reach {
  dev: string;
  /** our address toward the real: the tunnel source */
  prefsrc?: string;
}

async function ipJson(args: string[]): Promise<unknown[]> {
  const { stdout } = await run('ip', ['-j', ...args], { timeout: 5000 });
  return stdout.trim() ? (JSON.parse(stdout) as unknown[]) : [];
}

export async function routeTo(addr: string): Promise<Route | undefined> {
  try {
    const [r] = (await ipJson(['route', 'get', addr])) as { dev?: string; gateway?: string; prefsrc?: string; metrics?: { mtu?: number }[] }[];
    if (!r?.dev) return undefined;
    const mtu = r.metrics?.find((m) => typeof m.mtu === 'number')?.mtu;
    return { dev: r.dev, ...(r.gateway ? { gateway: r.gateway } : {}), ...(r.prefsrc ? { prefsrc: r.prefsrc } : {}), ...(mtu ? { mtu } : {}) };
  } catch {
    return undefined;
  }
}

export async function neighbourMac(addr: string, dev: string): Promise<string | undefined> {
  const entries = (await ipJson(['neigh', 'show', 'to', addr, 'dev', dev]).catch(() => [])) as { lladdr?: string; state?: string[] }[];
  const usable = entries.find((e) => e.lladdr && !e.state?.some((s) => s === 'FAILED' || s === 'INCOMPLETE'));
  return usable?.lladdr;
}

export function interfaceMac(dev: string): string {
  return fs.readFileSync(`/sys/class/net/${dev}/address`, 'utf8').trim();
}

export function interfaceMtu(dev: string): number {
  return Number(fs.readFileSync(`/sys/class/net/${dev}/mtu`, 'utf8').trim());
}

function poke(addr: string): void {
  const sock = dgram.createSocket(addr.includes(':') ? 'udp6' : 'udp4');
  sock.on('error', () => sock.close());
  sock.send(Buffer.alloc(0), 9, addr, () => sock.close());
}

/**
 * Resolves a real. `xdpIfaces`: the interfaces the director program is on;
 * a real behind the only one of them is reached with XDP_TX (ifindex 0),
 * others by redirect out of their own device.
 */
export async function resolveReach(addr: string, xdpIfaces: string[]): Promise<Resolved | undefined> {
  const route = await routeTo(addr);
  if (!route) return undefined;
  const hop = route.gateway ?? addr;
  const mac = await neighbourMac(hop, route.dev);
  if (!mac) {
    poke(hop);
    return undefined;
  }
  // what a tunnelled packet may measure on the way: the route's mtu, else the device's
  const base = { mac, dev: route.dev, mtu: route.mtu ?? interfaceMtu(route.dev), ...(route.prefsrc ? { prefsrc: route.prefsrc } : {}) };
  if (xdpIfaces.length === 1 && xdpIfaces[0] === route.dev) return { ...base, ifindex: 0 };
  return { ...base, ifindex: ifIndex(route.dev), srcMac: interfaceMac(route.dev) };
}
