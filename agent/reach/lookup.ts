// How the director reaches each real: the kernel's own routing and
// neighbour tables (iproute2's JSON output) give the egress device, the next
// hop and its MAC, and the source address an outer tunnel header should carry.
// All reals are looked up together: one `ip -batch` of `route get`s and one
// `ip neigh show`, two processes whatever the number of reals. A real whose
// next hop has no MAC yet gets a datagram to port 9 (discard), which makes
// the kernel resolve it; the next pass finds the MAC.
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
import type { Reach } from '../dataplane/reach';
import { parseAddr, parseMac } from '../net/addr';
import { interfaceIndex } from '../dataplane/sys';

export interface Route {
  dev: string;
  gateway?: string;
  prefsrc?: string;
  /** the route's own mtu (ip route ... mtu N), if it has one */
  mtu?: number;
}

export interface Resolved extends Reach {
  dev: string;
  /** the neighbour whose MAC this is: the route's gateway, else the real itself */
  hop: string;
}

/** What `ip` printed and whether it ran to the end (a non-zero exit of -force batches included). */
export interface IpResult {
  stdout: string;
  stderr: string;
  /** false: ip could not start, or was killed (timeout) */
  ran: boolean;
}

/** Runs `ip ARGS` with `input` on stdin. */
export type IpRunner = (args: string[], input?: string) => Promise<IpResult>;

export const systemIp: IpRunner = (args, input) =>
  new Promise((resolve) => {
    const p = execFile('ip', args, { timeout: 5000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
      resolve({ stdout, stderr, ran: !e || (typeof e.code === 'number' && !e.killed) });
    });
    p.stdin?.on('error', () => undefined);
    p.stdin?.end(input ?? '');
  });

/** What a route lookup told: a route, a definite "no route", or nothing (ip failed or timed out). */
export type RouteLookup = { route: Route } | { noRoute: string } | { failed: string };

/**
 * One `ip -j -force -batch -` of `route get` for every address. ip answers
 * each line with a JSON array naming its `dst`, and a failed line with its
 * error and "Command failed -:N"; the kernel's refusal (RTNETLINK answers:
 * no route) is definite, anything else is a failure.
 */
export async function lookupRoutes(addrs: string[], ip: IpRunner): Promise<Map<string, RouteLookup>> {
  const out = new Map<string, RouteLookup>();
  if (addrs.length === 0) return out;
  const r = await ip(['-j', '-force', '-batch', '-'], addrs.map((a) => `route get ${a}\n`).join(''));
  if (!r.ran) {
    for (const a of addrs) out.set(a, { failed: `ip route get: ${r.stderr.trim() || 'did not finish'}` });
    return out;
  }
  const routes = new Map<string, Route>();
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    let parsed: { dst?: string; dev?: string; gateway?: string; prefsrc?: string; metrics?: { mtu?: number }[] }[];
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      continue;
    }
    for (const x of parsed) {
      if (!x.dst || !x.dev) continue;
      const mtu = x.metrics?.find((m) => typeof m.mtu === 'number')?.mtu;
      routes.set(x.dst, { dev: x.dev, ...(x.gateway ? { gateway: x.gateway } : {}), ...(x.prefsrc ? { prefsrc: x.prefsrc } : {}), ...(mtu ? { mtu } : {}) });
    }
  }
  // the reason of each failed line: the stderr lines before its "Command failed -:N"
  const why = new Map<number, string>();
  let pending: string[] = [];
  for (const line of r.stderr.split('\n')) {
    const m = /^Command failed -:(\d+)/.exec(line);
    if (m) {
      why.set(Number(m[1]), pending.join('; '));
      pending = [];
    } else if (line.trim()) pending.push(line.trim());
  }
  addrs.forEach((a, i) => {
    const route = routes.get(a);
    if (route) return void out.set(a, { route });
    const reason = why.get(i + 1);
    if (reason !== undefined && /RTNETLINK answers/.test(reason)) out.set(a, { noRoute: reason });
    else out.set(a, { failed: reason || 'no answer from ip route get' });
  });
  return out;
}

/** Usable neighbour entries (a MAC, neither FAILED nor INCOMPLETE), by "address dev". */
export async function neighbours(ip: IpRunner): Promise<Map<string, string> | undefined> {
  const r = await ip(['-j', 'neigh', 'show']);
  if (!r.ran) return undefined;
  let entries: { dst?: string; dev?: string; lladdr?: string; state?: string[] }[];
  try {
    entries = r.stdout.trim() ? (JSON.parse(r.stdout) as typeof entries) : [];
  } catch {
    return undefined;
  }
  const out = new Map<string, string>();
  for (const e of entries) {
    if (e.dst && e.dev && e.lladdr && !e.state?.some((s) => s === 'FAILED' || s === 'INCOMPLETE')) out.set(`${e.dst} ${e.dev}`, e.lladdr);
  }
  return out;
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

/** What the host tells about devices; the system's by default, a fake in tests. */
export interface DeviceFacts {
  mac(dev: string): string;
  mtu(dev: string): number;
  index(dev: string): number;
  /** makes the kernel resolve a neighbour */
  poke(addr: string): void;
}

export const systemDevices: DeviceFacts = { mac: interfaceMac, mtu: interfaceMtu, index: interfaceIndex, poke };

/**
 * Resolves every real with two `ip` processes. `xdpIfaces`: the interfaces
 * the director program is on; a real behind the only one of them is reached
 * with XDP_TX (ifindex 0), others by redirect out of their own device.
 */
export async function lookupAll(addrs: string[], xdpIfaces: string[], ip: IpRunner = systemIp, dev: DeviceFacts = systemDevices): Promise<Map<string, ReachLookup>> {
  const [routes, neigh] = await Promise.all([lookupRoutes(addrs, ip), neighbours(ip)]);
  const out = new Map<string, ReachLookup>();
  for (const addr of addrs) {
    const r = routes.get(addr)!;
    if ('noRoute' in r) {
      out.set(addr, { unreachable: r.noRoute });
      continue;
    }
    if ('failed' in r) {
      out.set(addr, { unknown: `route lookup failed: ${r.failed}` });
      continue;
    }
    const route = r.route;
    const hop = route.gateway ?? addr;
    const mac = neigh?.get(`${hop} ${route.dev}`);
    if (!mac) {
      if (neigh) dev.poke(hop);
      out.set(addr, { unknown: neigh ? `no usable neighbour entry for ${hop} on ${route.dev}` : 'neighbour lookup failed', route });
      continue;
    }
    try {
      // what a tunnelled packet may measure on the way: the route's mtu, else the device's
      const base = {
        mac: parseMac(mac, `neighbour ${hop} on ${route.dev}`),
        dev: route.dev,
        hop,
        mtu: route.mtu ?? dev.mtu(route.dev),
        ...(route.prefsrc ? { prefsrc: parseAddr(route.prefsrc, `source address toward ${addr}`) } : {}),
      };
      if (xdpIfaces.length === 1 && xdpIfaces[0] === route.dev) out.set(addr, { reached: { ...base, ifindex: 0 } });
      else out.set(addr, { reached: { ...base, ifindex: dev.index(route.dev), srcMac: parseMac(dev.mac(route.dev), `${route.dev}'s MAC`) } });
    } catch (err) {
      // the device went away between the lookup and now, or ip printed what
      // no Ethernet next hop has (a tunnel device's 4-byte "lladdr")
      out.set(addr, { unknown: (err as Error).message, route });
    }
  }
  return out;
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
