// The TypeScript mirror of bpf/include/xdpvs.h. test/unit/abi.test.ts holds
// every struct and enum here against the compiled objects' BTF, so a change
// on one side without the other fails the build.
import { Limits } from '../net/limits';
import { be16, bytes, field, struct, u16, u32, u64, u8, type AnyStruct, type ValueOf } from './codec';

// the capacities live in net/limits.ts, which the configuration reads too
export { Limits };

export const Family = { XDPVS_AF_INET: 2, XDPVS_AF_INET6: 10 } as const;

export const Sched = {
  XDPVS_SCHED_MH: 0,
  XDPVS_SCHED_SH: 1,
  XDPVS_SCHED_DH: 2,
  XDPVS_SCHED_RR: 3,
} as const;

export const Method = { XDPVS_FWD_DR: 0, XDPVS_FWD_TUN: 1 } as const;

export const VipFlags = { XDPVS_VIP_PERSIST: 1 } as const;

export const RealFlags = { XDPVS_REAL_ACTIVE: 1 } as const;

export const FlowKind = { XDPVS_FLOW_CONN: 0, XDPVS_FLOW_PERSIST: 1 } as const;

export const Reason = {
  XDPVS_R_FWD_DR: 0,
  XDPVS_R_FWD_TUN: 1,
  XDPVS_R_PASS_NOT_IP: 2,
  XDPVS_R_PASS_NOT_VIP: 3,
  XDPVS_R_PASS_ICMP: 4,
  XDPVS_R_PASS_FRAGMENT: 5,
  XDPVS_R_DROP_MALFORMED: 6,
  XDPVS_R_DROP_FRAGMENT: 7,
  XDPVS_R_DROP_NO_REAL: 8,
  XDPVS_R_DROP_ENCAP: 9,
  XDPVS_R_DROP_CONFIG: 10,
  XDPVS_R_TOO_BIG: 11,
  XDPVS_R_DROP_TOO_BIG: 12,
  XDPVS_R_PASS_NOT_LOCAL: 13,
  XDPVS_R_MAX: 14,
} as const;

/** Short operator-facing names of the reasons, for logs, CLI and metrics. */
export const REASON_NAMES: readonly string[] = [
  'fwd_dr',
  'fwd_tun',
  'pass_not_ip',
  'pass_not_vip',
  'pass_icmp',
  'pass_fragment',
  'drop_malformed',
  'drop_fragment',
  'drop_no_real',
  'drop_encap',
  'drop_config',
  'too_big',
  'drop_too_big',
  'pass_not_local',
];

export const DecapReason = {
  DECAP_R_DONE: 0,
  DECAP_R_PASS: 1,
  DECAP_R_MALFORMED: 2,
  DECAP_R_DROP_SOURCE: 3,
  DECAP_R_MAX: 4,
} as const;

/** Every enum of the ABI by its C name, for the BTF check. */
export const ENUMS: Record<string, Record<string, number>> = {
  xdpvs_limits: Limits,
  xdpvs_family: Family,
  xdpvs_sched: Sched,
  xdpvs_method: Method,
  xdpvs_vip_flags: VipFlags,
  xdpvs_real_flags: RealFlags,
  xdpvs_flow_kind: FlowKind,
  xdpvs_reason: Reason,
  decap_reason: DecapReason,
};

const addr = bytes(16);
const mac = bytes(6);

export const VipKey = struct('vip_key', 20, {
  addr: field('addr', 0, addr),
  port: field('port', 16, be16),
  proto: field('proto', 18, u8),
  family: field('family', 19, u8),
});

export const VipMeta = struct('vip_meta', 24, {
  id: field('id', 0, u32),
  flags: field('flags', 4, u32),
  sched: field('sched', 8, u32),
  tableSize: field('table_size', 12, u32),
  persistTimeout: field('persist_timeout', 16, u32),
  pad: field('pad', 20, u32),
});

export const RealDef = struct('real_def', 40, {
  addr: field('addr', 0, addr),
  mac: field('mac', 16, mac),
  srcMac: field('src_mac', 22, mac),
  ifindex: field('ifindex', 28, u32),
  family: field('family', 32, u8),
  method: field('method', 33, u8),
  flags: field('flags', 34, u16),
  mtu: field('mtu', 36, u16),
  pad: field('pad', 38, u16),
});

export const FlowKey = struct('flow_key', 40, {
  src: field('src', 0, addr),
  dst: field('dst', 16, addr),
  sport: field('sport', 32, be16),
  dport: field('dport', 34, be16),
  proto: field('proto', 36, u8),
  family: field('family', 37, u8),
  kind: field('kind', 38, u8),
  pad: field('pad', 39, u8),
});

export const FlowState = struct('flow_state', 16, {
  realId: field('real_id', 0, u32),
  pad: field('pad', 4, u32),
  lastSeen: field('last_seen', 8, u64),
});

export const IfaceDef = struct('iface_def', 8, {
  mac: field('mac', 0, mac),
  pad: field('pad', 6, u16),
});

export const IfaceSlot = struct('iface_slot', 12, {
  ifindex: field('ifindex', 0, u32),
  mac: field('mac', 4, mac),
  pad: field('pad', 10, u16),
});

export const LbSettings = struct('lb_settings', 20, {
  tunSrc4: field('tun_src4', 0, bytes(4)),
  tunSrc6: field('tun_src6', 4, addr),
});

export const TrafficStats = struct('traffic_stats', 24, {
  packets: field('packets', 0, u64),
  bytes: field('bytes', 8, u64),
  newFlows: field('new_flows', 16, u64),
});

export const VerdictStats = struct('verdict_stats', 16, {
  packets: field('packets', 0, u64),
  bytes: field('bytes', 8, u64),
});

export const DecapKey = struct('decap_key', 20, {
  addr: field('addr', 0, addr),
  family: field('family', 16, u32),
});

export const DecapSrcKey = struct('decap_src_key', 24, {
  prefixLen: field('prefixlen', 0, u32),
  family: field('family', 4, u32),
  addr: field('addr', 8, addr),
});

/** Every struct of the ABI, for the BTF check. */
export const STRUCTS: AnyStruct[] = [
  VipKey,
  VipMeta,
  RealDef,
  FlowKey,
  FlowState,
  IfaceDef,
  IfaceSlot,
  LbSettings,
  TrafficStats,
  VerdictStats,
  DecapKey,
  DecapSrcKey,
];

/** The structs only the decap program uses (its BTF, not the director's, has them). */
export const DECAP_STRUCTS: readonly AnyStruct[] = [DecapKey, DecapSrcKey];

export type VipKeyValue = ValueOf<typeof VipKey.fields>;
export type VipMetaValue = ValueOf<typeof VipMeta.fields>;
export type RealDefValue = ValueOf<typeof RealDef.fields>;
export type FlowKeyValue = ValueOf<typeof FlowKey.fields>;
export type FlowStateValue = ValueOf<typeof FlowState.fields>;
export type IfaceDefValue = ValueOf<typeof IfaceDef.fields>;
export type IfaceSlotValue = ValueOf<typeof IfaceSlot.fields>;
export type LbSettingsValue = ValueOf<typeof LbSettings.fields>;
export type TrafficStatsValue = ValueOf<typeof TrafficStats.fields>;
export type VerdictStatsValue = ValueOf<typeof VerdictStats.fields>;
export type DecapKeyValue = ValueOf<typeof DecapKey.fields>;
export type DecapSrcKeyValue = ValueOf<typeof DecapSrcKey.fields>;

/** Map name -> [key codec or 'u32', value codec or 'u32'], for the size check at open. */
export const LB_MAPS = {
  vips: { keySize: VipKey.size, valueSize: VipMeta.size },
  reals: { keySize: 4, valueSize: RealDef.size },
  tables: { keySize: 4, valueSize: 4 },
  cursors: { keySize: 4, valueSize: 4 },
  flows: { keySize: FlowKey.size, valueSize: FlowState.size },
  settings: { keySize: 4, valueSize: LbSettings.size },
  ifaces: { keySize: 4, valueSize: IfaceDef.size },
  ifslots: { keySize: 4, valueSize: IfaceSlot.size },
  txports: { keySize: 4, valueSize: 4 },
  vipstats: { keySize: 4, valueSize: TrafficStats.size },
  realstats: { keySize: 4, valueSize: TrafficStats.size },
  verdicts: { keySize: 4, valueSize: VerdictStats.size },
} as const;

export const DECAP_MAPS = {
  decapaddrs: { keySize: DecapKey.size, valueSize: 4 },
  decapsrcs: { keySize: DecapSrcKey.size, valueSize: 4 },
  decapstats: { keySize: 4, valueSize: VerdictStats.size },
} as const;
