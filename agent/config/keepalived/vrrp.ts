// keepalived's vrrp_instance / vrrp_script / vrrp_sync_group -> the model:
// syntax over keywords.ts, which has keepalived's defaults and ranges
// (keepalived.conf(5)).
import { ConfigCode } from '../diagnostics';
import { defaults, SYNC_GROUP, VRRP_INSTANCE, VRRP_SCRIPT } from '../keywords';
import type { Config, Tracked, VirtualAddress, VrrpInstance, VrrpScript, VrrpSyncGroup } from '../model';
import { address, Collector, int } from '../values';
import { valueHandlers, walk } from './statements';
import type { ConfNode } from './reader';

/** "10.0.0.1/24 dev eth0 label eth0:1" (other ip-addr options warned). */
function virtualAddress(c: Collector, n: ConfNode): VirtualAddress | undefined {
  const [addrText, prefixText] = n.keyword.split('/');
  const addr = address(c, n.loc, 'virtual_ipaddress', addrText);
  if (addr === undefined) return undefined;
  const max = addr.v6 ? 128 : 32;
  const prefix = prefixText === undefined ? max : int(c, n.loc, 'virtual_ipaddress prefix', prefixText, 0, max);
  if (prefix === undefined) return undefined;
  const va: VirtualAddress = { addr, prefix, loc: n.loc };
  for (let i = 0; i < n.args.length; i++) {
    const opt = n.args[i]!;
    if (opt === 'dev' || opt === 'label') {
      const v = n.args[++i];
      if (!v) c.error(n.loc, `virtual_ipaddress: ${opt} wants a value`);
      else if (opt === 'dev') va.dev = v;
      else va.label = v;
    } else if (['brd', 'scope', 'peer', 'preferred_lft'].includes(opt)) {
      c.warn(n.loc, `virtual_ipaddress option ${opt} is not supported: ignored`, ConfigCode.UNSUPPORTED);
      i++;
    } else {
      c.warn(n.loc, `virtual_ipaddress option ${opt} is not supported: ignored`, ConfigCode.UNSUPPORTED);
    }
  }
  return va;
}

/** track_script / track_interface entries: NAME [weight W [reverse|noreverse]] */
function tracked(c: Collector, n: ConfNode, max: number): Tracked[] {
  const out: Tracked[] = [];
  for (const e of n.children ?? []) {
    const t: Tracked = { name: e.keyword, reverse: false, loc: e.loc };
    for (let i = 0; i < e.args.length; i++) {
      const a = e.args[i]!;
      if (a === 'weight') {
        const w = int(c, e.loc, `${n.keyword} ${e.keyword} weight`, e.args[++i], -max, max);
        if (w !== undefined) t.weight = w;
      } else if (a === 'reverse') t.reverse = true;
      else if (a === 'noreverse' || a === 'no_reverse') t.reverse = false;
      else c.warn(e.loc, `${n.keyword} ${e.keyword}: unknown option "${a}": ignored`);
    }
    out.push(t);
  }
  return out;
}

export function readVrrpScript(c: Collector, n: ConfNode): VrrpScript | undefined {
  const name = n.args[0];
  if (!name || !n.children) {
    c.error(n.loc, 'vrrp_script wants a name and a { ... } block', ConfigCode.SYNTAX);
    return undefined;
  }
  const v = defaults(VRRP_SCRIPT, 'conf');
  let reverse = false;
  walk(c, n, {
    ...valueHandlers(c, VRRP_SCRIPT, v),
    weight: (x) => {
      v.weight = VRRP_SCRIPT.weight.read!(c, x.loc, x.args, 'weight') ?? v.weight;
      reverse = x.args[1] === 'reverse';
    },
  });
  const s: VrrpScript = {
    name,
    script: v.script ?? '',
    interval: v.interval!,
    ...(v.timeout !== undefined ? { timeout: v.timeout } : {}),
    weight: v.weight!,
    reverse,
    rise: v.rise!,
    fall: v.fall!,
    initFail: v.initFail!,
    loc: n.loc,
  };
  if (!s.script) {
    c.error(n.loc, `vrrp_script ${name} needs a script`);
    return undefined;
  }
  return s;
}

export function readVrrpInstance(c: Collector, n: ConfNode, defaultVersion: 2 | 3): VrrpInstance | undefined {
  const name = n.args[0];
  if (!name || !n.children) {
    c.error(n.loc, 'vrrp_instance wants a name and a { ... } block', ConfigCode.SYNTAX);
    return undefined;
  }
  const k = defaults(VRRP_INSTANCE, 'conf');
  const v: Partial<VrrpInstance> & Pick<VrrpInstance, 'unicastPeers' | 'virtualAddresses' | 'excludedAddresses' | 'trackInterfaces' | 'trackScripts' | 'referenceFall'> = {
    name,
    trackInterfaces: [],
    trackScripts: [],
    unicastPeers: [],
    virtualAddresses: [],
    excludedAddresses: [],
    referenceFall: 3,
    loc: n.loc,
  };
  let advertIntLoc = n.loc;
  const addresses = (into: VirtualAddress[]) => (x: ConfNode) => {
    for (const e of x.children ?? []) {
      const a = virtualAddress(c, e);
      if (a) into.push(a);
    }
  };
  walk(c, n, {
    ...valueHandlers(c, VRRP_INSTANCE, k),
    advert_int: (x) => {
      k.advertInt = VRRP_INSTANCE.advertInt.read!(c, x.loc, x.args, x.keyword) ?? k.advertInt;
      advertIntLoc = x.loc;
    },
    authentication: (x) => {
      let type: string | undefined;
      walk(c, x, {
        auth_type: (y) => (type = y.args[0]?.toUpperCase()),
        auth_pass: (y) => (v.authPass = (y.args[0] ?? '').slice(0, 8)),
      });
      if (type && type !== 'PASS') c.error(x.loc, `auth_type ${type} is not supported (PASS is; AH was removed from VRRP by RFC 3768)`, ConfigCode.UNSUPPORTED);
    },
    virtual_ipaddress: addresses(v.virtualAddresses),
    virtual_ipaddress_excluded: addresses(v.excludedAddresses),
    track_interface: (x) => (v.trackInterfaces = tracked(c, x, 253)),
    track_script: (x) => (v.trackScripts = tracked(c, x, 253)),
    unicast_peer: (x) => {
      for (const e of x.children ?? []) {
        const a = address(c, e.loc, 'unicast_peer', e.keyword);
        if (a) v.unicastPeers.push(a);
      }
    },
    reference_address: (x) => {
      const a = address(c, x.loc, 'reference_address', x.args[0]);
      if (a) v.referenceAddress = a;
      if (x.args[1] === 'fall') v.referenceFall = int(c, x.loc, 'reference_address fall', x.args[2], 1, 100) ?? v.referenceFall;
    },
  });
  Object.assign(v, {
    initialState: k.initialState === 'master' ? 'MASTER' : 'BACKUP',
    priority: k.priority,
    advertInt: k.advertInt,
    nopreempt: k.nopreempt,
    preemptDelay: k.preemptDelay,
    garpMasterDelay: k.garpMasterDelay,
    garpMasterRepeat: k.garpMasterRepeat,
    v3ChecksumAsV2: k.v3ChecksumAsV2,
    ...(k.interface !== undefined ? { interface: k.interface } : {}),
    ...(k.virtualRouterId !== undefined ? { virtualRouterId: k.virtualRouterId } : {}),
    ...(k.unicastSrcIp !== undefined ? { unicastSrcIp: k.unicastSrcIp } : {}),
    ...(k.notifyMaster !== undefined ? { notifyMaster: k.notifyMaster } : {}),
    ...(k.notifyBackup !== undefined ? { notifyBackup: k.notifyBackup } : {}),
    ...(k.notifyFault !== undefined ? { notifyFault: k.notifyFault } : {}),
    ...(k.notifyStop !== undefined ? { notifyStop: k.notifyStop } : {}),
    ...(k.notify !== undefined ? { notify: k.notify } : {}),
  });
  const version = k.version as 2 | 3 | undefined;
  if (!v.interface) c.error(n.loc, `vrrp_instance ${name} needs an interface`);
  if (v.virtualRouterId === undefined) c.error(n.loc, `vrrp_instance ${name} needs a virtual_router_id (1..255)`);
  if (v.virtualAddresses.length === 0) c.error(n.loc, `vrrp_instance ${name} needs at least one virtual_ipaddress`);
  const families = new Set(v.virtualAddresses.map((a) => a.addr.family));
  if (families.size > 1) c.error(n.loc, `vrrp_instance ${name}: virtual_ipaddress mixes IPv4 and IPv6 (use virtual_ipaddress_excluded for the other family)`);
  const family = families.has('inet6') ? 'inet6' : 'inet';
  const ver: 2 | 3 = family === 'inet6' ? 3 : (version ?? defaultVersion);
  if (family === 'inet6' && version === 2) c.warn(n.loc, `vrrp_instance ${name}: IPv6 always runs VRRPv3`, ConfigCode.UNSUPPORTED);
  // the wire's limits (RFC 5798 5.2.5, 5.2.7): the address count is one byte,
  // the v3 interval 12 bits of centiseconds; the agent receives an advert
  // into 2048 bytes, so 8 + 16 * 127 = 2040 is as many IPv6 addresses as fit
  const count = v.virtualAddresses.length;
  if (family === 'inet6' && count > 127) c.error(n.loc, `vrrp_instance ${name}: ${count} IPv6 virtual_ipaddress entries; an advert carries at most 127 (it must fit 2048 bytes): move the rest to virtual_ipaddress_excluded or another instance`);
  else if (count > 255) c.error(n.loc, `vrrp_instance ${name}: ${count} virtual_ipaddress entries; an advert carries at most 255: move the rest to virtual_ipaddress_excluded or another instance`);
  if (ver === 3 && Math.round(v.advertInt! * 100) > 0x0fff) c.error(advertIntLoc, `vrrp_instance ${name}: advert_int ${v.advertInt} is too long for VRRPv3, which carries at most 40.95 s (4095 centiseconds)`);
  if (v.authPass !== undefined && ver === 3) c.warn(n.loc, `vrrp_instance ${name}: authentication is VRRPv2 only: ignored`, ConfigCode.UNSUPPORTED);
  if (!v.interface || v.virtualRouterId === undefined || v.virtualAddresses.length === 0) return undefined;
  return { ...(v as VrrpInstance), family, version: ver, ...(ver === 3 ? { authPass: undefined } : {}) };
}

export function readSyncGroup(c: Collector, n: ConfNode): VrrpSyncGroup | undefined {
  const name = n.args[0];
  if (!name || !n.children) {
    c.error(n.loc, 'vrrp_sync_group wants a name and a { ... } block', ConfigCode.SYNTAX);
    return undefined;
  }
  const g: VrrpSyncGroup = { name, group: [], trackInterfaces: [], trackScripts: [], trackingWeight: false, loc: n.loc };
  const k = defaults(SYNC_GROUP, 'conf');
  walk(c, n, {
    ...valueHandlers(c, SYNC_GROUP, k),
    group: (x) => {
      for (const e of x.children ?? []) g.group.push(e.keyword, ...e.args);
    },
    track_interface: (x) => g.trackInterfaces.push(...tracked(c, x, 253)),
    track_script: (x) => g.trackScripts.push(...tracked(c, x, 253)),
    global_tracking: (x) => {
      c.warn(x.loc, `global_tracking is deprecated (keepalived too): read as sync_group_tracking_weight; track objects on the sync group instead`, ConfigCode.IGNORED);
      k.trackingWeight = true;
    },
  });
  g.trackingWeight = k.trackingWeight!;
  return g;
}

/**
 * keepalived's tracking rules for sync groups (vrrp.c, keepalived.conf(5)):
 * members of one group must not weigh differently, or half the group would
 * be master on each director and they would re-elect for ever. So, unless the
 * group sets sync_group_tracking_weight, a member's own weighted
 * track_script is dropped and its weighted track_interface counts as weight
 * 0 (FAULT while down), each with a warning at its line. The group's own
 * track_script / track_interface apply to every member with their weights,
 * except that a group with an address owner (priority 255) cannot weigh.
 * Runs after checkVrrpReferences; the instances come out as they will run.
 */
export function applySyncGroupTracking(c: Collector, config: Config): void {
  const scriptWeight = new Map(config.vrrpScripts.map((s) => [s.name, s.weight]));
  const instances = new Map(config.vrrpInstances.map((v) => [v.name, v]));
  for (const g of config.vrrpSyncGroups) {
    const members = g.group.map((name) => instances.get(name)).filter((v): v is VrrpInstance => v !== undefined);
    if (!g.trackingWeight) {
      for (const v of members) {
        v.trackScripts = v.trackScripts.filter((t) => {
          const w = t.weight ?? scriptWeight.get(t.name) ?? 0;
          if (w === 0) return true;
          c.warn(t.loc, `vrrp_instance ${v.name} is in vrrp_sync_group ${g.name}: track_script ${t.name} with weight ${w} is ignored, as keepalived ignores it; track it in the sync group, give it weight 0 (FAULT while down) or set sync_group_tracking_weight`, ConfigCode.IGNORED);
          return false;
        });
        v.trackInterfaces = v.trackInterfaces.map((t) => {
          if (!t.weight) return t;
          c.warn(t.loc, `vrrp_instance ${v.name} is in vrrp_sync_group ${g.name}: track_interface ${t.name} weight ${t.weight} is read as weight 0 (FAULT while down), as keepalived reads it; track it in the sync group or set sync_group_tracking_weight`, ConfigCode.IGNORED);
          return { ...t, weight: 0 };
        });
      }
    }
    const owner = members.find((v) => v.priority === 255);
    const unweighted = (t: Tracked, w: number, kind: string): Tracked => {
      if (!owner || w === 0) return t;
      c.warn(t.loc, `vrrp_sync_group ${g.name}: ${kind} ${t.name} cannot weigh while member ${owner.name} has priority 255: read as weight 0 (FAULT while down)`, ConfigCode.IGNORED);
      return { ...t, weight: 0 };
    };
    const scripts = g.trackScripts.map((t) => unweighted(t, t.weight ?? scriptWeight.get(t.name) ?? 0, 'track_script'));
    const ifaces = g.trackInterfaces.map((t) => unweighted(t, t.weight ?? 0, 'track_interface'));
    for (const v of members) {
      v.trackScripts = [...v.trackScripts, ...scripts];
      v.trackInterfaces = [...v.trackInterfaces, ...ifaces];
    }
  }
}
