// What a configuration asks of this host, checked before anything changes:
// the interfaces VRRP instances run on and put VIPs on exist, and an
// instance has an address to send its adverts from. `xdpvs check` validates a
// file anywhere; `xdpvs run` (start and every reload) also checks it against
// the host it runs on, so a reload naming a missing interface is rejected
// whole instead of stopping the instance it changed. The host is injected.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ConfigCode, type Diagnostic } from './diagnostics';
import type { Config } from './model';

export interface Host {
  hasInterface(name: string): boolean;
  /** the interface's addresses of a family (IPv6: link-local ones, which VRRPv3 sends from) */
  addresses(name: string, family: 'inet' | 'inet6'): string[];
}

export const systemHost: Host = {
  hasInterface: (name) => /^[^/\0]{1,15}$/.test(name) && name !== '.' && name !== '..' && fs.existsSync(`/sys/class/net/${name}`),
  addresses: (name, family) =>
    (os.networkInterfaces()[name] ?? [])
      .filter((a) => (family === 'inet' ? a.family === 'IPv4' : a.family === 'IPv6' && a.address.toLowerCase().startsWith('fe80:')))
      .map((a) => a.address),
};

export function hostProblems(config: Config, host: Host = systemHost): Diagnostic[] {
  const out: Diagnostic[] = [];
  const error = (loc: Diagnostic['loc'], message: string): void => void out.push({ severity: 'error', code: ConfigCode.HOST, loc, message });
  for (const v of config.vrrpInstances) {
    if (!host.hasInterface(v.interface)) {
      error(v.loc, `vrrp_instance ${v.name}: interface ${v.interface} does not exist on this host`);
      continue;
    }
    const vips = new Set(v.virtualAddresses.map((a) => String(a.addr)));
    if (v.unicastSrcIp === undefined && host.addresses(v.interface, v.family).filter((a) => !vips.has(a)).length === 0) {
      error(v.loc, `vrrp_instance ${v.name}: ${v.interface} has no ${v.family === 'inet6' ? 'link-local IPv6' : 'IPv4'} address to send adverts from`);
    }
    for (const a of [...v.virtualAddresses, ...v.excludedAddresses]) {
      if (a.dev !== undefined && !host.hasInterface(a.dev)) error(a.loc, `vrrp_instance ${v.name}: ${a.addr} names interface ${a.dev}, which does not exist on this host`);
    }
  }
  return out;
}
