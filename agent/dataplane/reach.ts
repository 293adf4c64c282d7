// How the director reaches each real: the kernel's own routing and
// neighbour tables (iproute2's JSON output) give the egress device, the next
// hop and its MAC, and the source address an outer tunnel header should carry.
// A real whose next hop has no MAC yet gets a datagram to port 9 (discard),
// which makes the kernel resolve it; the next pass finds the MAC.
//
// A real that has been reached keeps its last known next hop until the kernel
// reports a definite change (no route any more, another egress or gateway, a
// neighbour with another MAC). A failed lookup (ip failing to start, a
// timeout, a neighbour entry aged out, INCOMPLETE or FAILED) proves nothing
// about the real: taking it out would reschedule its established flows, so it
// never does.
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { ifIndex } from '../../native/index';

const run = promisify(execFile);

export interface Route {
  dev: string;
  gateway?: string;
  prefsrc?: string;
  /** the route's own mtu (ip route ... mtu N), if it has one */
  mtu?: number;
}

/** Where a real's packets go: what the reals map needs of its next hop. */
export interface Reach {
  mac: string;
  /** 0: out of the interface the packet came in on (XDP_TX) */
  ifindex: number;
  /** source MAC for a redirect; empty for XDP_TX */
  srcMac?: string;
  /** the largest packet the path to the real takes (route or device MTU) */
  mtu?: number;
}

export interface Resolved extends Reach {
  dev: string;
  /** the neighbour whose MAC this is: the route's gateway, else the real itself */
  hop: string;
  /** our address toward the real: the tunnel source */
  prefsrc?: string;
}

async function ipJson(args: string[]): Promise<unknown[]> {
  const { stdout } = await run('ip', ['-j', ...args], { timeout: 5000 });
  return stdout.trim() ? (JSON.parse(stdout) as unknown[]) : [];
}

/** What a route lookup told: a route, a definite "no route", or nothing (ip failed or timed out). */
export type RouteLookup = { route: Route } | { noRoute: string } | { failed: string };

export async function lookupRoute(addr: string): Promise<RouteLookup> {
  try {
    const [r] = (await ipJson(['route', 'get', addr])) as { dev?: string; gateway?: string; prefsrc?: string; metrics?: { mtu?: number }[] }[];
    if (!r?.dev) return { noRoute: 'no route' };
    const mtu = r.metrics?.find((m) => typeof m.mtu === 'number')?.mtu;
    return { route: { dev: r.dev, ...(r.gateway ? { gateway: r.gateway } : {}), ...(r.prefsrc ? { prefsrc: r.prefsrc } : {}), ...(mtu ? { mtu } : {}) } };
  } catch (err) {
    const e = err as { stderr?: string; code?: unknown; killed?: boolean; message: string };
    // the kernel answered: RTNETLINK "Network is unreachable", "No route to host", ...
    if (typeof e.code === 'number' && !e.killed && /RTNETLINK answers/.test(e.stderr ?? '')) return { noRoute: (e.stderr ?? '').trim() };
    return { failed: e.message };
  }
}

export async function routeTo(addr: string): Promise<Route | undefined> {
  const r = await lookupRoute(addr);
  return 'route' in r ? r.route : undefined;
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

/** One resolution: reached, definitely not (the kernel says so), or unknown (a lookup failed; `route` when it was found). */
export type ReachLookup = { reached: Resolved } | { unreachable: string } | { unknown: string; route?: Route };

/**
 * Resolves a real. `xdpIfaces`: the interfaces the director program is on;
 * a real behind the only one of them is reached with XDP_TX (ifindex 0),
 * others by redirect out of their own device.
 */
export async function lookupReach(addr: string, xdpIfaces: string[]): Promise<ReachLookup> {
  const r = await lookupRoute(addr);
  if ('noRoute' in r) return { unreachable: r.noRoute };
  if ('failed' in r) return { unknown: `route lookup failed: ${r.failed}` };
  const route = r.route;
  const hop = route.gateway ?? addr;
  const mac = await neighbourMac(hop, route.dev);
  if (!mac) {
    poke(hop);
    return { unknown: `no usable neighbour entry for ${hop} on ${route.dev}`, route };
  }
  // what a tunnelled packet may measure on the way: the route's mtu, else the device's
  const base = { mac, dev: route.dev, hop, mtu: route.mtu ?? interfaceMtu(route.dev), ...(route.prefsrc ? { prefsrc: route.prefsrc } : {}) };
  if (xdpIfaces.length === 1 && xdpIfaces[0] === route.dev) return { reached: { ...base, ifindex: 0 } };
  return { reached: { ...base, ifindex: ifIndex(route.dev), srcMac: interfaceMac(route.dev) } };
}

/**
 * How a real is reached after a lookup, given how it was reached before:
 * only a definite answer from the kernel changes a known next hop.
 */
export function nextReach(addr: string, old: Resolved | undefined, lookup: ReachLookup): Resolved | undefined {
  if ('reached' in lookup) return lookup.reached;
  if ('unreachable' in lookup) return undefined;
  // the route now leaves by another device or gateway: the old MAC is of another neighbour
  if (old && lookup.route && (lookup.route.dev !== old.dev || (lookup.route.gateway ?? addr) !== old.hop)) return undefined;
  return old;
}

export async function resolveReach(addr: string, xdpIfaces: string[]): Promise<Resolved | undefined> {
  const r = await lookupReach(addr, xdpIfaces);
  return 'reached' in r ? r.reached : undefined;
}
