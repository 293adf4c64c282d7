// keepalived.conf statements -> the model. Keyword meanings and defaults
// follow keepalived's check_parser.c; what xdpvs cannot do (NAT, fwmark,
// SCTP) is an error saying so, keywords it does not know are warnings, as
// keepalived warns about them, and every value is range-checked at its line.
import { ConfigCode } from '../diagnostics';
import {
  DEFAULTS,
  SCHEDULERS,
  serviceKey,
  type CheckKind,
  type Config,
  type Endpoint,
  type HealthCheck,
  type HttpUrl,
  type Method,
  type Protocol,
  type Real,
  type Scheduler,
  type Service,
  type VrrpInstance,
  emptyConfig,
} from '../model';
import { address, Collector, int, oneOf, port, seconds, statusCodes } from '../values';
import { applySyncGroupTracking, readSyncGroup, readVrrpInstance, readVrrpScript } from './vrrp';
import type { ConfNode } from './reader';

type Handler = (n: ConfNode) => void;

const MAX_DELAY = 86400;

/** Runs `handlers` over a block's statements; unknown keywords are warned about. */
function walk(c: Collector, owner: ConfNode, handlers: Record<string, Handler>): void {
  for (const n of owner.children ?? []) {
    const h = handlers[n.keyword] ?? handlers[n.keyword.toLowerCase()];
    if (h) h(n);
    else c.warn(n.loc, `unknown keyword "${n.keyword}" in ${owner.keyword}: ignored`);
  }
}

function ignored(c: Collector, why: string): Handler {
  return (n) => c.warn(n.loc, `${n.keyword} ${why}: ignored`, ConfigCode.UNSUPPORTED);
}

function needsBlock(c: Collector, n: ConfNode): boolean {
  if (n.children) return true;
  c.error(n.loc, `${n.keyword} wants a { ... } block`, ConfigCode.SYNTAX);
  return false;
}

interface Timing {
  delayLoop: number;
  connectTimeout: number;
  retry: number;
  delayBeforeRetry: number;
  warmup: number;
}

function readCheck(c: Collector, n: ConfNode, real: Endpoint, service: { delayLoop: number; virtualhost?: string }): HealthCheck | undefined {
  const t: Timing = {
    delayLoop: service.delayLoop,
    connectTimeout: DEFAULTS.connectTimeout,
    retry: DEFAULTS.retry,
    delayBeforeRetry: DEFAULTS.delayBeforeRetry,
    warmup: DEFAULTS.warmup,
  };
  const connect: Endpoint = { addr: real.addr, port: real.port };
  let bindTo: string | undefined;
  const urls: HttpUrl[] = [];
  let virtualhost = service.virtualhost;
  let miscPath: string | undefined;
  let miscTimeout: number | undefined;
  let payload: string | undefined;
  let require: string | undefined;
  const type = n.keyword.toUpperCase();

  const common: Record<string, Handler> = {
    connect_ip: (s) => (connect.addr = address(c, s.loc, 'connect_ip', s.args[0]) ?? connect.addr),
    connect_port: (s) => (connect.port = port(c, s.loc, 'connect_port', s.args[0]) ?? connect.port),
    bindto: (s) => (bindTo = address(c, s.loc, 'bindto', s.args[0])),
    bind_port: ignored(c, 'is not supported (the kernel picks the source port)'),
    connect_timeout: (s) => (t.connectTimeout = seconds(c, s.loc, 'connect_timeout', s.args[0], 0.001, 3600) ?? t.connectTimeout),
    retry: (s) => (t.retry = int(c, s.loc, s.keyword, s.args[0], 0, 1000) ?? t.retry),
    nb_get_retry: (s) => (t.retry = int(c, s.loc, s.keyword, s.args[0], 0, 1000) ?? t.retry),
    delay_before_retry: (s) => (t.delayBeforeRetry = seconds(c, s.loc, 'delay_before_retry', s.args[0], 0, MAX_DELAY) ?? t.delayBeforeRetry),
    warmup: (s) => (t.warmup = seconds(c, s.loc, 'warmup', s.args[0], 0, MAX_DELAY) ?? t.warmup),
    delay_loop: (s) => (t.delayLoop = seconds(c, s.loc, 'delay_loop', s.args[0], 0.001, MAX_DELAY) ?? t.delayLoop),
  };
  const http: Record<string, Handler> = {
    url: (s) => {
      if (!needsBlock(c, s)) return;
      const url: HttpUrl = { path: '/', statusCodes: [[200, 299]] };
      let hasPath = false;
      walk(c, s, {
        path: (p) => {
          hasPath = p.args.length === 1;
          if (!hasPath) c.error(p.loc, 'path wants one URL path');
          else url.path = p.args[0]!;
        },
        status_code: (p) => (url.statusCodes = statusCodes(c, p.loc, p.args) ?? url.statusCodes),
        digest: (p) => {
          if (!/^[0-9a-fA-F]{32}$/.test(p.args[0] ?? '')) c.error(p.loc, `digest wants an MD5 hex digest (32 hex digits), got "${p.args[0] ?? ''}"`);
          else url.digest = p.args[0]!.toLowerCase();
        },
      });
      if (!hasPath) c.error(s.loc, 'url needs a path');
      urls.push(url);
    },
    virtualhost: (s) => (virtualhost = s.args[0]),
  };
  const handlers: Record<string, Record<string, Handler>> = {
    TCP_CHECK: common,
    HTTP_GET: { ...common, ...http },
    SSL_GET: { ...common, ...http },
    MISC_CHECK: {
      ...common,
      misc_path: (s) => (miscPath = s.args.join(' ')),
      misc_timeout: (s) => (miscTimeout = seconds(c, s.loc, 'misc_timeout', s.args[0], 0.001, 3600)),
      misc_dynamic: ignored(c, 'is not supported (the exit code only says up or down)'),
      user: ignored(c, 'is not supported (scripts run as the agent user)'),
    },
    UDP_CHECK: {
      ...common,
      payload: (s) => (payload = s.args.join(' ')),
      require_reply: (s) => (require = s.args.join(' ')),
    },
  };
  const h = handlers[type];
  if (!h) {
    c.warn(n.loc, `${n.keyword} is not supported by xdpvs: the real is not checked by it`, ConfigCode.UNSUPPORTED);
    return undefined;
  }
  if (!needsBlock(c, n)) return undefined;
  walk(c, n, h);

  let kind: CheckKind;
  if (type === 'TCP_CHECK') kind = { type: 'tcp' };
  else if (type === 'HTTP_GET' || type === 'SSL_GET') {
    if (urls.length === 0) c.error(n.loc, `${n.keyword} needs at least one url { path ... }`);
    kind = { type: type === 'HTTP_GET' ? 'http' : 'https', urls, ...(virtualhost ? { virtualhost } : {}) };
  } else if (type === 'MISC_CHECK') {
    if (!miscPath) {
      c.error(n.loc, 'MISC_CHECK needs misc_path');
      return undefined;
    }
    kind = { type: 'misc', path: miscPath, ...(miscTimeout !== undefined ? { timeout: miscTimeout } : {}) };
  } else {
    kind = { type: 'udp', ...(payload !== undefined ? { payload } : {}), ...(require !== undefined ? { require } : {}) };
  }
  return { ...kind, ...t, connect, ...(bindTo ? { bindTo } : {}), loc: n.loc };
}

function readReal(c: Collector, n: ConfNode, svc: { delayLoop: number; inhibitOnFailure: boolean; virtualhost?: string }): Real | undefined {
  const addr = address(c, n.loc, 'real_server address', n.args[0]);
  const p = port(c, n.loc, 'real_server port', n.args[1] ?? '0', true);
  if (addr === undefined || p === undefined) return undefined;
  const real: Real = { addr, port: p, weight: DEFAULTS.weight, inhibitOnFailure: svc.inhibitOnFailure, checks: [], loc: n.loc };
  if (!n.children) return real;
  const check = (s: ConfNode): void => {
    const hc = readCheck(c, s, real, svc);
    if (hc) real.checks.push(hc);
  };
  walk(c, n, {
    weight: (s) => (real.weight = int(c, s.loc, 'weight', s.args[0], 0, 65535) ?? real.weight),
    inhibit_on_failure: () => (real.inhibitOnFailure = true),
    notify_up: (s) => (real.notifyUp = s.args.join(' ')),
    notify_down: (s) => (real.notifyDown = s.args.join(' ')),
    uthreshold: ignored(c, 'is not supported'),
    lthreshold: ignored(c, 'is not supported'),
    tcp_check: check,
    http_get: check,
    ssl_get: check,
    misc_check: check,
    udp_check: check,
    dns_check: check,
    smtp_check: check,
    bfd_check: check,
  });
  return real;
}

interface GroupEntry {
  vip: string;
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
      for (let i = Number(from); i <= Number(to); i++) if (p !== undefined) out.push({ vip: `${prefix}${i}`, port: p, loc: e.loc });
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
    const a = address(c, n.loc, 'virtual_server address', n.args[0]);
    const p = port(c, n.loc, 'virtual_server port', n.args[1], true);
    if (a === undefined || p === undefined) return [];
    vips = [{ vip: a, port: p, loc: n.loc }];
  }

  let scheduler: Scheduler = 'wlc';
  let method: Method = 'dr';
  let protocol: Protocol = 'tcp';
  let persistenceTimeout = 0;
  let sorryServer: Endpoint | undefined;
  const svc: { delayLoop: number; inhibitOnFailure: boolean; alpha: boolean; virtualhost?: string } = {
    delayLoop: DEFAULTS.delayLoop,
    inhibitOnFailure: false,
    alpha: false,
  };
  const q: { omega: boolean; quorum: number; hysteresis: number; quorumUp?: string; quorumDown?: string } = {
    omega: false,
    quorum: DEFAULTS.quorum,
    hysteresis: DEFAULTS.hysteresis,
  };
  const realNodes: ConfNode[] = [];
  const sched: Handler = (s) => (scheduler = oneOf(c, s.loc, s.keyword, s.args[0], SCHEDULERS) ?? scheduler);
  const kind: Handler = (s) => {
    const v = s.args[0]?.toUpperCase();
    if (v === 'NAT') c.error(s.loc, `${s.keyword} NAT is not supported: xdpvs forwards by DR or TUN (the real answers the client directly)`, ConfigCode.UNSUPPORTED);
    else method = oneOf(c, s.loc, s.keyword, s.args[0], ['dr', 'tun'] as const) ?? method;
  };
  walk(c, n, {
    delay_loop: (s) => (svc.delayLoop = seconds(c, s.loc, 'delay_loop', s.args[0], 0.001, MAX_DELAY) ?? svc.delayLoop),
    lb_algo: sched,
    lvs_sched: sched,
    lb_kind: kind,
    lvs_method: kind,
    persistence_timeout: (s) => (persistenceTimeout = int(c, s.loc, 'persistence_timeout', s.args[0] ?? '360', 0, 31536000) ?? persistenceTimeout),
    persistence_granularity: ignored(c, 'is not supported (persistence is per client address)'),
    protocol: (s) => {
      if (s.args[0]?.toUpperCase() === 'SCTP') c.error(s.loc, 'protocol SCTP is not supported (TCP and UDP are)', ConfigCode.UNSUPPORTED);
      else protocol = oneOf(c, s.loc, 'protocol', s.args[0], ['tcp', 'udp'] as const) ?? protocol;
    },
    sorry_server: (s) => {
      const a = address(c, s.loc, 'sorry_server address', s.args[0]);
      const p = port(c, s.loc, 'sorry_server port', s.args[1] ?? '0', true);
      if (a !== undefined && p !== undefined) sorryServer = { addr: a, port: p };
    },
    sorry_server_inhibit: ignored(c, 'has no effect in xdpvs'),
    sorry_server_lvs_method: ignored(c, 'is not supported (the sorry server uses the service method)'),
    inhibit_on_failure: () => (svc.inhibitOnFailure = true),
    alpha: () => (svc.alpha = true),
    omega: () => (q.omega = true),
    quorum: (s) => (q.quorum = int(c, s.loc, 'quorum', s.args[0], 1, 65535 * 1024) ?? q.quorum),
    hysteresis: (s) => (q.hysteresis = int(c, s.loc, 'hysteresis', s.args[0], 0, 65535 * 1024) ?? q.hysteresis),
    quorum_up: (s) => (q.quorumUp = s.args.join(' ')),
    quorum_down: (s) => (q.quorumDown = s.args.join(' ')),
    virtualhost: (s) => (svc.virtualhost = s.args[0]),
    ha_suspend: ignored(c, 'is not supported'),
    ops: ignored(c, 'is not supported'),
    real_server: (s) => realNodes.push(s),
  });
  // reals after the whole block: delay_loop / inhibit_on_failure may come later
  const reals = realNodes.map((s) => readReal(c, s, svc)).filter((r): r is Real => r !== undefined);

  return vips.map((v) => ({
    key: serviceKey(protocol, v.vip, v.port),
    vip: v.vip,
    port: v.port,
    protocol,
    scheduler,
    method,
    persistenceTimeout,
    delayLoop: svc.delayLoop,
    ...(sorryServer ? { sorryServer } : {}),
    alpha: svc.alpha,
    ...q,
    reals,
    loc: v.loc,
  }));
}

/** Translates keepalived statements into the model, reporting into `c`. */
export function keepalivedToModel(nodes: ConfNode[], files: string[], c: Collector): Config {
  const config: Config = emptyConfig(files);
  let vrrpVersion: 2 | 3 = 2;
  const instanceNodes: ConfNode[] = [];
  const groups = new Map<string, GroupEntry[]>();
  const seen = new Map<string, Service>();
  walk(c, { keyword: 'the top level', args: [], children: nodes, loc: { file: files[0] ?? '', line: 0 } }, {
    global_defs: (n) => {
      if (!needsBlock(c, n)) return;
      for (const s of n.children ?? []) {
        if (s.keyword === 'router_id') config.routerId = s.args[0];
        else if (s.keyword === 'vrrp_version') vrrpVersion = (int(c, s.loc, 'vrrp_version', s.args[0], 2, 3) ?? 2) as 2 | 3;
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
  });
  for (const n of instanceNodes) {
    const v = readVrrpInstance(c, n, vrrpVersion);
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
