// keepalived.conf statements -> the model: syntax only. Keyword meanings,
// ranges and defaults are keywords.ts's (keepalived's check_parser.c); what
// xdpvs cannot do (NAT, fwmark, SCTP) is an error saying so, keywords it
// does not know are warnings, as keepalived warns about them, and every value
// is range-checked at its line.
import { ConfigCode } from '../diagnostics';
import { CHECK, defaults, GLOBAL, REAL, SERVICE, URL, type CheckType, type Table, type Values } from '../keywords';
import { checkFrom, serviceFrom } from '../assemble';
import { type Config, type Endpoint, type HealthCheck, type HttpUrl, type Real, type Service, type VrrpInstance, emptyConfig } from '../model';
import type { Addr } from '../../net/addr';
import { address, Collector, port, statusCodes } from '../values';
import { ignored, needsBlock, valueHandlers, walk } from './statements';
import { applySyncGroupTracking, readSyncGroup, readVrrpInstance, readVrrpScript } from './vrrp';
import type { ConfNode } from './reader';

const CHECK_BLOCKS: Record<string, CheckType> = { TCP_CHECK: 'tcp', HTTP_GET: 'http', SSL_GET: 'https', MISC_CHECK: 'misc', UDP_CHECK: 'udp' };

/** The keywords of a check block of this type. */
function checkTable(type: CheckType): Table {
  return Object.fromEntries(Object.entries(CHECK).filter(([, kw]: [string, { only?: readonly string[] }]) => !kw.only || kw.only.includes(type)));
}

function readUrl(c: Collector, s: ConfNode): HttpUrl | undefined {
  if (!needsBlock(c, s)) return undefined;
  const v = defaults(URL, 'conf');
  let hasPath = false;
  walk(c, s, {
    ...valueHandlers(c, URL, v),
    path: (p) => {
      hasPath = p.args.length === 1;
      if (!hasPath) c.error(p.loc, 'path wants one URL path');
      else v.path = p.args[0]!;
    },
    status_code: (p) => (v.statusCodes = statusCodes(c, p.loc, p.args) ?? v.statusCodes),
  }, true);
  if (!hasPath) c.error(s.loc, 'url needs a path');
  return { path: v.path ?? '/', statusCodes: v.statusCodes!, ...(v.digest !== undefined ? { digest: v.digest } : {}) };
}

function readCheck(c: Collector, n: ConfNode, real: Endpoint, service: { delayLoop: number; virtualhost?: string | undefined }): HealthCheck | undefined {
  const type = CHECK_BLOCKS[n.keyword.toUpperCase()];
  if (!type) {
    c.warn(n.loc, `${n.keyword} is not supported by xdpvs: the real is not checked by it`, ConfigCode.UNSUPPORTED);
    return undefined;
  }
  if (!needsBlock(c, n)) return undefined;
  const v: Values<typeof CHECK> = { ...defaults(CHECK, 'conf'), delayLoop: service.delayLoop, virtualhost: service.virtualhost };
  const urls: HttpUrl[] = [];
  walk(
    c,
    n,
    {
      ...valueHandlers(c, checkTable(type), v as Values<Table>),
      ...(type === 'http' || type === 'https'
        ? {
            url: (s: ConfNode) => {
              const url = readUrl(c, s);
              if (url) urls.push(url);
            },
          }
        : {}),
    },
    true,
  );

  if ((type === 'http' || type === 'https') && urls.length === 0) c.error(n.loc, `${n.keyword} needs at least one url { path ... }`);
  return checkFrom(c, n.loc, 'MISC_CHECK', type, v, urls, real);
}

function readReal(c: Collector, n: ConfNode, svc: { delayLoop: number; inhibitOnFailure: boolean; virtualhost?: string | undefined }): Real | undefined {
  const addr = REAL.addr.read!(c, n.loc, n.args.slice(0, 1), 'real_server address');
  const p = REAL.port.read!(c, n.loc, [n.args[1] ?? '0'], 'real_server port');
  if (addr === undefined || p === undefined) return undefined;
  const v = { ...defaults(REAL, 'conf'), inhibitOnFailure: svc.inhibitOnFailure };
  const real: Real = { addr, port: p, weight: v.weight!, inhibitOnFailure: v.inhibitOnFailure, checks: [], loc: n.loc };
  if (!n.children) return real;
  const check = (s: ConfNode): void => {
    const hc = readCheck(c, s, real, svc);
    if (hc) real.checks.push(hc);
  };
  // DNS_CHECK and the others: warned by readCheck, not unknown
  const checks = Object.fromEntries(['tcp_check', 'http_get', 'ssl_get', 'misc_check', 'udp_check', 'dns_check', 'smtp_check', 'bfd_check'].map((k) => [k, check]));
  walk(c, n, { ...valueHandlers(c, REAL, v), ...checks }, true);
  real.weight = v.weight!;
  real.inhibitOnFailure = v.inhibitOnFailure!;
  if (v.notifyUp !== undefined) real.notifyUp = v.notifyUp;
  if (v.notifyDown !== undefined) real.notifyDown = v.notifyDown;
  return real;
}

interface GroupEntry {
  vip: Addr;
  port: number;
  loc: ConfNode['loc'];
}

/** virtual_server_group entries: "IP PORT", or "IP-LAST PORT" (a range of the last IPv4 byte). */
function readGroup(c: Collector, n: ConfNode): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const e of n.children ?? []) {
    if (e.keyword.toLowerCase() === 'fwmark') {
      c.error(e.loc, 'fwmark entries are not supported: xdpvs matches VIPs by address, port and protocol', ConfigCode.UNSUPPORTED);
      continue;
    }
    const p = port(c, e.loc, 'virtual_server_group port', e.args[0] ?? '0', true);
    const range = /^(\d+\.\d+\.\d+\.)(\d+)-(\d+)$/.exec(e.keyword);
    if (range) {
      const [, prefix, from, to] = range;
      if (Number(from) > Number(to) || Number(to) > 255) {
        c.error(e.loc, `address range ${e.keyword} wants FIRST-LAST with FIRST <= LAST <= 255`);
        continue;
      }
      for (let i = Number(from); i <= Number(to); i++) {
        const a = address(c, e.loc, 'virtual_server_group address', `${prefix}${i}`);
        if (a !== undefined && p !== undefined) out.push({ vip: a, port: p, loc: e.loc });
      }
      continue;
    }
    const a = address(c, e.loc, 'virtual_server_group address', e.keyword);
    if (a !== undefined && p !== undefined) out.push({ vip: a, port: p, loc: e.loc });
  }
  return out;
}

function readVirtualServer(c: Collector, n: ConfNode, groups: Map<string, GroupEntry[]>): Service[] {
  if (!needsBlock(c, n)) return [];
  let vips: GroupEntry[];
  if (n.args[0]?.toLowerCase() === 'fwmark') {
    c.error(n.loc, 'virtual_server fwmark is not supported: xdpvs matches VIPs by address, port and protocol', ConfigCode.UNSUPPORTED);
    return [];
  } else if (n.args[0]?.toLowerCase() === 'group') {
    const g = groups.get(n.args[1] ?? '');
    if (!g) {
      c.error(n.loc, `virtual_server group ${n.args[1] ?? ''}: no virtual_server_group of that name is defined before it`);
      return [];
    }
    vips = g;
  } else {
    const a = SERVICE.vip.read!(c, n.loc, n.args.slice(0, 1), 'virtual_server address');
    const p = SERVICE.port.read!(c, n.loc, n.args.slice(1, 2), 'virtual_server port');
    if (a === undefined || p === undefined) return [];
    vips = [{ vip: a, port: p, loc: n.loc }];
  }

  const v = defaults(SERVICE, 'conf');
  let sorryServer: Endpoint | undefined;
  const realNodes: ConfNode[] = [];
  walk(
    c,
    n,
    {
      ...valueHandlers(c, SERVICE, v),
      sorry_server: (s) => {
        const a = address(c, s.loc, 'sorry_server address', s.args[0]);
        const p = port(c, s.loc, 'sorry_server port', s.args[1] ?? '0', true);
        if (a !== undefined && p !== undefined) sorryServer = { addr: a, port: p };
      },
      real_server: (s) => realNodes.push(s),
    },
    true,
  );
  // reals after the whole block: delay_loop / inhibit_on_failure may come later
  const svc = { delayLoop: v.delayLoop!, inhibitOnFailure: v.inhibitOnFailure!, virtualhost: v.virtualhost };
  const reals = realNodes.map((s) => readReal(c, s, svc)).filter((r): r is Real => r !== undefined);

  return vips.map((g) => serviceFrom(v, g.vip, g.port, reals, sorryServer, g.loc));
}

/** Translates keepalived statements into the model, reporting into `c`. */
export function keepalivedToModel(nodes: ConfNode[], files: string[], c: Collector): Config {
  const config: Config = emptyConfig(files);
  const global = defaults(GLOBAL, 'conf');
  const instanceNodes: ConfNode[] = [];
  const groups = new Map<string, GroupEntry[]>();
  const seen = new Map<string, Service>();
  walk(c, { keyword: 'the top level', args: [], children: nodes, loc: { file: files[0] ?? '', line: 0 } }, {
    global_defs: (n) => {
      if (!needsBlock(c, n)) return;
      const handlers = valueHandlers(c, GLOBAL, global);
      for (const s of n.children ?? []) {
        const h = handlers[s.keyword];
        if (h) h(s);
        else c.warn(s.loc, `global_defs ${s.keyword} is not used by xdpvs: ignored`);
      }
    },
    virtual_server_group: (n) => {
      if (!needsBlock(c, n) || !n.args[0]) return;
      groups.set(n.args[0], readGroup(c, n));
    },
    virtual_server: (n) => {
      for (const s of readVirtualServer(c, n, groups)) {
        const dup = seen.get(s.key);
        if (dup) {
          c.error(s.loc, `virtual_server ${s.key} is defined twice (first at ${dup.loc.file}:${dup.loc.line})`);
          continue;
        }
        seen.set(s.key, s);
        config.services.push(s);
      }
    },
    // instances after the whole file: global_defs vrrp_version may come later
    vrrp_instance: (n) => instanceNodes.push(n),
    vrrp_script: (n) => {
      const s = readVrrpScript(c, n);
      if (s) config.vrrpScripts.push(s);
    },
    vrrp_sync_group: (n) => {
      const g = readSyncGroup(c, n);
      if (g) config.vrrpSyncGroups.push(g);
    },
    static_ipaddress: ignored(c, 'is not managed by xdpvs'),
    static_routes: ignored(c, 'is not managed by xdpvs'),
  }, true);
  if (global.routerId !== undefined) config.routerId = global.routerId;
  for (const n of instanceNodes) {
    const v = readVrrpInstance(c, n, global.vrrpVersion as 2 | 3);
    if (v) config.vrrpInstances.push(v);
  }
  checkVrrpReferences(c, config);
  applySyncGroupTracking(c, config);
  return config;
}

/** Names an instance or group refers to must exist; VRIDs must not clash on an interface. */
function checkVrrpReferences(c: Collector, config: Config): void {
  const scripts = new Set(config.vrrpScripts.map((s) => s.name));
  const instances = new Map<string, VrrpInstance>();
  const vrids = new Map<string, VrrpInstance>();
  for (const v of config.vrrpInstances) {
    if (instances.has(v.name)) c.error(v.loc, `vrrp_instance ${v.name} is defined twice`);
    instances.set(v.name, v);
    const id = `${v.interface}/${v.family}/${v.virtualRouterId}`;
    const other = vrids.get(id);
    if (other) c.error(v.loc, `vrrp_instance ${v.name}: virtual_router_id ${v.virtualRouterId} on ${v.interface} is already used by ${other.name}`);
    vrids.set(id, v);
    for (const t of v.trackScripts) {
      if (!scripts.has(t.name)) c.error(t.loc, `vrrp_instance ${v.name}: track_script ${t.name} names no vrrp_script`);
    }
  }
  const groupOf = new Map<string, string>();
  for (const g of config.vrrpSyncGroups) {
    if (g.group.length < 2) c.warn(g.loc, `vrrp_sync_group ${g.name} has ${g.group.length} member(s): a group needs two to mean anything`, ConfigCode.INVALID_VALUE);
    for (const name of g.group) {
      if (!instances.has(name)) c.error(g.loc, `vrrp_sync_group ${g.name}: ${name} names no vrrp_instance`);
      const other = groupOf.get(name);
      if (other !== undefined) c.error(g.loc, `vrrp_sync_group ${g.name}: ${name} is already in vrrp_sync_group ${other}`);
      groupOf.set(name, g.name);
    }
    for (const t of g.trackScripts) {
      if (!scripts.has(t.name)) c.error(t.loc, `vrrp_sync_group ${g.name}: track_script ${t.name} names no vrrp_script`);
    }
  }
}
