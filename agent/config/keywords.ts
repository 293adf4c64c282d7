// The one keyword table: for every configuration keyword its key in xdpvs
// YAML, its keyword(s) in keepalived.conf, how its value is read and checked,
// its range, its default and a line of doc. Both front ends (yaml.ts,
// keepalived/) are syntax over this table, so a range or a default is written
// once; README "Configuration reference" is checked against it
// (test/unit/config-keywords.test.ts). Defaults are keepalived's
// (check_parser.c, vrrp_parser.c) unless the doc says otherwise.
import type { Addr } from '../net/addr';
import { RING_SIZE } from '../net/limits';
import type { SourceLoc } from './diagnostics';
import { SCHEDULERS, type Method, type Protocol, type Scheduler } from './model';
import { ConfigCode } from './diagnostics';
import { address, type Collector, digest, int, oneOf, port, ringSize, seconds } from './values';

/**
 * How a value is written. `flag`: the bare keyword in keepalived.conf, true or
 * false in YAML; `word` one word, `line` the rest of the statement (scripts);
 * `block`: statements or a list under it, read by the front end; `custom`:
 * syntax the front ends differ on (ADDRESS:PORT against ADDRESS PORT);
 * `ignored`: keepalived.conf only, warned and ignored.
 */
export type Kind = 'int' | 'seconds' | 'port' | 'address' | 'choice' | 'flag' | 'word' | 'line' | 'block' | 'custom' | 'ignored';

export interface Keyword<T = unknown> {
  kind: Kind;
  /** its key in xdpvs YAML; absent: keepalived.conf only */
  yaml?: string;
  /** its keyword in keepalived.conf, then aliases; empty: YAML only */
  conf: readonly string[];
  /** the accepted values, as the reference prints them */
  range: string;
  /** the value when the keyword is missing; undefined: none (required or optional, as the doc says) */
  default?: T;
  /** YAML's own default where it differs on purpose (the doc says why) */
  yamlDefault?: T;
  /** keepalived.conf: the value of the bare keyword (persistence_timeout: 360) */
  bare?: string;
  doc: string;
  /** reads the value's words, reporting at loc under `name`; undefined when unusable */
  read?: (c: Collector, loc: SourceLoc, words: readonly string[], name: string) => T | undefined;
  /** kind ignored: why */
  ignored?: string;
  /** checks: the types this keyword belongs to (keepalived.conf warns about it elsewhere); absent: all */
  only?: readonly string[];
}

type Spec<T> = Pick<Keyword<T>, 'yaml' | 'default' | 'yamlDefault' | 'bare' | 'doc' | 'only'> & { conf?: readonly string[] };

function make<T>(kind: Kind, range: string, s: Spec<T>, read?: Keyword<T>['read']): Keyword<T> {
  return { kind, range, ...s, conf: s.conf ?? [], ...(read ? { read } : {}) };
}

const intKw = (min: number, max: number, s: Spec<number>): Keyword<number> =>
  make('int', `${min}..${max}`, s, (c, loc, w, name) => int(c, loc, name, w[0], min, max));
const secondsKw = (min: number, max: number, s: Spec<number>): Keyword<number> =>
  make('seconds', `${min}..${max} s`, s, (c, loc, w, name) => seconds(c, loc, name, w[0], min, max));
const portKw = (allowZero: boolean, s: Spec<number>): Keyword<number> =>
  make('port', `${allowZero ? 0 : 1}..65535`, s, (c, loc, w, name) => port(c, loc, name, w[0], allowZero));
const addressKw = (s: Spec<Addr>): Keyword<Addr> => make('address', 'IPv4 or IPv6 address', s, (c, loc, w, name) => address(c, loc, name, w[0]));
/** `refused`: values keepalived has and xdpvs cannot do, with why (an UNSUPPORTED error, not a typo). */
const choiceKw = <T extends string>(choices: readonly T[], s: Spec<T>, refused: Record<string, string> = {}): Keyword<T> =>
  make('choice', choices.join(', ') + Object.keys(refused).map((r) => `; ${r} refused`).join(''), s, (c, loc, w, name) => {
    const why = refused[w[0]?.toLowerCase() ?? ''];
    if (why === undefined) return oneOf(c, loc, name, w[0], choices);
    c.error(loc, `${name} ${w[0]!} is not supported: ${why}`, ConfigCode.UNSUPPORTED);
    return undefined;
  });
/** Written by position in keepalived.conf (real_server ADDRESS PORT): each front end reads it itself. */
const positional = <T>(kw: Keyword<T>): Keyword<T> => ({ ...kw, kind: 'custom' });
const flagKw = (s: Spec<boolean>): Keyword<boolean> => make('flag', 'flag', { default: false, ...s }, () => true);
const wordKw = (s: Spec<string>): Keyword<string> => make('word', 'text', s, (_c, _loc, w) => w[0]);
const lineKw = (s: Spec<string>): Keyword<string> => make('line', 'command line', s, (_c, _loc, w) => (w.length > 0 ? w.join(' ') : undefined));
const blockKw = (s: Spec<never>): Keyword<never> => make('block', 'block', s);
const customKw = <T>(range: string, s: Spec<T>): Keyword<T> => make('custom', range, s);
/** `why` completes "KEYWORD ...: ignored" */
const ignoredKw = (conf: string, why = 'is not supported'): Keyword<never> => ({ kind: 'ignored', conf: [conf], range: '', doc: why.replace(/^is /, ''), ignored: why });

export type Table = Readonly<Record<string, Keyword<any>>>;
/** A block's values by model field, as they are read. */
export type Values<T extends Table> = { -readonly [K in keyof T]: T[K] extends Keyword<infer V> ? V | undefined : never };

const MAX_DELAY = 86400;
/** quorum and hysteresis count weights: up to 1024 reals of the largest weight */
const MAX_QUORUM = 65535 * 1024;

/** The top level of YAML, global_defs of keepalived.conf. */
export const GLOBAL = {
  routerId: wordKw({ yaml: 'router_id', conf: ['router_id'], doc: 'names this director in logs and scripts' }),
  ringSize: make('int', `a prime, ${RING_SIZE.min}..${RING_SIZE.max}`, { yaml: 'ring_size', default: RING_SIZE.default, doc: 'slots of each Maglev ring (mh, sh, dh, lc, wlc, sed, nq)' }, (c, loc, w, name) =>
    ringSize(c, loc, name, w[0]),
  ),
  vrrpVersion: intKw(2, 3, { conf: ['vrrp_version'], default: 2, doc: 'VRRP version of IPv4 instances that set none (IPv6 always runs 3)' }),
  services: blockKw({ yaml: 'services', doc: 'the virtual services (keepalived.conf: virtual_server blocks)' }),
} as const satisfies Table;

export const SERVICE = {
  vip: positional(addressKw({ yaml: 'vip', doc: 'the virtual address; required (keepalived.conf: virtual_server ADDRESS PORT, or a virtual_server_group)' })),
  port: positional(portKw(true, { yaml: 'port', doc: 'the virtual port, 0: every port; required' })),
  protocol: choiceKw<Protocol>(['tcp', 'udp'], { yaml: 'protocol', conf: ['protocol'], default: 'tcp', doc: 'the transport protocol' }, { sctp: 'TCP and UDP are' }),
  scheduler: choiceKw<Scheduler>(SCHEDULERS, {
    yaml: 'lb_algo',
    conf: ['lb_algo', 'lvs_sched'],
    default: 'wlc',
    yamlDefault: 'mh',
    doc: "the scheduler; YAML's default mh builds the same weighted ring as keepalived's wlc, and says so",
  }),
  method: choiceKw<Method>(
    ['dr', 'tun'],
    { yaml: 'lb_kind', conf: ['lb_kind', 'lvs_method'], default: 'dr', doc: 'forwarding: direct routing or IPIP/IP6IP6 tunnel' },
    { nat: 'xdpvs forwards by DR or TUN (the real answers the client directly)' },
  ),
  persistenceTimeout: intKw(0, 31536000, {
    yaml: 'persistence_timeout',
    conf: ['persistence_timeout'],
    default: 0,
    bare: '360',
    doc: 'seconds a client stays on its real (0: off; keepalived.conf: 360 when given without a value)',
  }),
  delayLoop: secondsKw(0.001, MAX_DELAY, { yaml: 'delay_loop', conf: ['delay_loop'], default: 60, doc: 'seconds between health checks of each real' }),
  sorryServer: customKw<never>('ADDRESS:PORT (keepalived.conf: ADDRESS [PORT])', { yaml: 'sorry_server', conf: ['sorry_server'], doc: 'takes the whole table while the quorum is lost' }),
  inhibitOnFailure: flagKw({ yaml: 'inhibit_on_failure', conf: ['inhibit_on_failure'], doc: "every real's inhibit_on_failure default" }),
  alpha: flagKw({ yaml: 'alpha', conf: ['alpha'], doc: 'reals start down until their first check succeeds' }),
  omega: flagKw({ yaml: 'omega', conf: ['omega'], doc: 'a clean stop runs quorum_down and the reals\' notify_down' }),
  quorum: intKw(1, MAX_QUORUM, { yaml: 'quorum', conf: ['quorum'], default: 1, doc: "live reals' total weight for the service to be up" }),
  hysteresis: intKw(0, MAX_QUORUM, { yaml: 'hysteresis', conf: ['hysteresis'], default: 0, doc: 'weight of slack around quorum before it flips' }),
  quorumUp: lineKw({ yaml: 'quorum_up', conf: ['quorum_up'], doc: 'script run when the quorum is gained' }),
  quorumDown: lineKw({ yaml: 'quorum_down', conf: ['quorum_down'], doc: 'script run when the quorum is lost' }),
  virtualhost: wordKw({ yaml: 'virtualhost', conf: ['virtualhost'], doc: 'HTTP Host of the checks that set none' }),
  reals: blockKw({ yaml: 'reals', conf: ['real_server'], doc: 'the real servers (keepalived.conf: real_server ADDRESS PORT { ... })' }),
  persistenceGranularity: ignoredKw('persistence_granularity', 'is not supported (persistence is per client address)'),
  sorryServerInhibit: ignoredKw('sorry_server_inhibit', 'has no effect in xdpvs'),
  sorryServerLvsMethod: ignoredKw('sorry_server_lvs_method', 'is not supported (the sorry server uses the service method)'),
  haSuspend: ignoredKw('ha_suspend'),
  ops: ignoredKw('ops'),
} as const satisfies Table;

export const REAL = {
  addr: positional(addressKw({ yaml: 'address', doc: 'the real server; required (keepalived.conf: real_server ADDRESS PORT)' })),
  port: positional(portKw(true, { yaml: 'port', doc: "its port; YAML: the service's by default, keepalived.conf: 0" })),
  weight: intKw(0, 65535, { yaml: 'weight', conf: ['weight'], default: 1, doc: 'share of new flows; 0 drains' }),
  inhibitOnFailure: flagKw({ yaml: 'inhibit_on_failure', conf: ['inhibit_on_failure'], doc: "weight 0 instead of removal when down; the service's by default" }),
  notifyUp: lineKw({ yaml: 'notify_up', conf: ['notify_up'], doc: 'script run when the real comes up' }),
  notifyDown: lineKw({ yaml: 'notify_down', conf: ['notify_down'], doc: 'script run when the real goes down' }),
  checks: blockKw({
    yaml: 'checks',
    conf: ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'UDP_CHECK'],
    doc: 'health checks (YAML: a list with `type`; keepalived.conf: one block each); DNS_CHECK, SMTP_CHECK, BFD_CHECK are warned and not run',
  }),
  uthreshold: ignoredKw('uthreshold'),
  lthreshold: ignoredKw('lthreshold'),
} as const satisfies Table;

export type CheckType = 'tcp' | 'http' | 'https' | 'udp' | 'misc';
export const CHECK_TYPES: readonly CheckType[] = ['tcp', 'http', 'https', 'udp', 'misc'];

const HTTP: readonly CheckType[] = ['http', 'https'];

export const CHECK = {
  type: positional(choiceKw<CheckType>(CHECK_TYPES, { yaml: 'type', doc: 'the check; required (keepalived.conf: the block TCP_CHECK, HTTP_GET, SSL_GET, UDP_CHECK, MISC_CHECK)' })),
  connectIp: addressKw({ yaml: 'connect_ip', conf: ['connect_ip'], doc: "where to connect; the real's address by default" }),
  connectPort: portKw(false, { yaml: 'connect_port', conf: ['connect_port'], doc: "the port to connect to; the real's by default" }),
  bindTo: addressKw({ yaml: 'bindto', conf: ['bindto'], doc: 'source address of the check' }),
  connectTimeout: secondsKw(0.001, 3600, { yaml: 'connect_timeout', conf: ['connect_timeout'], default: 5, doc: 'seconds one attempt may take' }),
  retry: intKw(0, 1000, { yaml: 'retry', conf: ['retry', 'nb_get_retry'], default: 1, doc: 'failed attempts in a row, after the first, before the real is down' }),
  delayBeforeRetry: secondsKw(0, MAX_DELAY, { yaml: 'delay_before_retry', conf: ['delay_before_retry'], default: 1, doc: 'seconds between those retries' }),
  warmup: secondsKw(0, MAX_DELAY, { yaml: 'warmup', conf: ['warmup'], default: 0, doc: 'at most this many seconds of random delay before the first check' }),
  delayLoop: secondsKw(0.001, MAX_DELAY, { yaml: 'delay_loop', conf: ['delay_loop'], doc: "seconds between checks; the service's by default" }),
  url: blockKw({ yaml: 'url', conf: ['url'], only: HTTP, doc: 'http/https: one per URL to fetch (YAML: a list; path, status_code, digest may also stand on the check)' }),
  virtualhost: wordKw({ yaml: 'virtualhost', conf: ['virtualhost'], only: HTTP, doc: "http/https: the Host header; the service's virtualhost, else the address" }),
  payload: lineKw({ yaml: 'payload', conf: ['payload'], only: ['udp'], doc: 'udp: the datagram to send' }),
  requireReply: lineKw({ yaml: 'require_reply', conf: ['require_reply'], only: ['udp'], doc: 'udp: text the reply must contain' }),
  miscPath: lineKw({ yaml: 'misc_path', conf: ['misc_path'], only: ['misc'], doc: 'misc: the command; exit 0 is up' }),
  miscTimeout: secondsKw(0.001, 3600, { yaml: 'misc_timeout', conf: ['misc_timeout'], only: ['misc'], doc: 'misc: seconds the command may take; delay_loop by default' }),
  bindPort: ignoredKw('bind_port', 'is not supported (the kernel picks the source port)'),
  miscDynamic: { ...ignoredKw('misc_dynamic', 'is not supported (the exit code only says up or down)'), only: ['misc'] },
  user: { ...ignoredKw('user', 'is not supported (scripts run as the agent user)'), only: ['misc'] },
} as const satisfies Table;

export const URL = {
  path: wordKw({ yaml: 'path', conf: ['path'], doc: 'the URL path to fetch; required' }),
  statusCodes: customKw<[number, number][]>('codes or ranges 100..599, e.g. 200-299,301', {
    yaml: 'status_code',
    conf: ['status_code'],
    default: [[200, 299]],
    doc: 'accepted status codes',
  }),
  digest: make('word', '32 hex digits', { yaml: 'digest', conf: ['digest'], doc: 'MD5 of the body, as genhash prints it' }, (c, loc, w, name) => digest(c, loc, name, w[0])),
} as const satisfies Table;

/** keepalived.conf only: VRRP is not in the YAML format. */
export const VRRP_INSTANCE = {
  initialState: choiceKw(['master', 'backup'] as const, { conf: ['state'], default: 'backup', doc: 'the state asked for at start; the protocol decides afterwards' }),
  interface: wordKw({ conf: ['interface'], doc: 'the interface adverts go out of; required' }),
  virtualRouterId: intKw(1, 255, { conf: ['virtual_router_id'], doc: 'the VRID; required' }),
  priority: intKw(1, 255, { conf: ['priority'], default: 100, doc: '255: the address owner' }),
  advertInt: secondsKw(0.01, 255, { conf: ['advert_int'], default: 1, doc: 'seconds between adverts (VRRPv3: at most 40.95)' }),
  version: intKw(2, 3, { conf: ['version'], doc: "the instance's VRRP version; global_defs vrrp_version by default" }),
  authentication: blockKw({ conf: ['authentication'], doc: 'auth_type PASS and auth_pass (VRRPv2; the first 8 characters); AH is refused' }),
  virtualAddresses: blockKw({ conf: ['virtual_ipaddress'], doc: 'ADDRESS[/LEN] [dev IF] [label L] per line: the VIPs the master holds and advertises' }),
  excludedAddresses: blockKw({ conf: ['virtual_ipaddress_excluded'], doc: 'as virtual_ipaddress, held but not advertised' }),
  nopreempt: flagKw({ conf: ['nopreempt', 'no_preempt'], doc: 'a backup does not take over from a live master of lower priority' }),
  preemptDelay: secondsKw(0, 1000, { conf: ['preempt_delay'], default: 0, doc: 'seconds after start before preempting' }),
  trackInterfaces: blockKw({ conf: ['track_interface'], doc: 'IF [weight W] per line' }),
  trackScripts: blockKw({ conf: ['track_script'], doc: 'NAME [weight W] [reverse] per line, naming vrrp_scripts' }),
  notifyMaster: lineKw({ conf: ['notify_master'], doc: 'script run on becoming master' }),
  notifyBackup: lineKw({ conf: ['notify_backup'], doc: 'script run on becoming backup' }),
  notifyFault: lineKw({ conf: ['notify_fault'], doc: 'script run on entering FAULT' }),
  notifyStop: lineKw({ conf: ['notify_stop'], doc: 'script run when the instance stops' }),
  notify: lineKw({ conf: ['notify'], doc: 'script run on every change: INSTANCE name STATE priority' }),
  unicastSrcIp: addressKw({ conf: ['unicast_src_ip'], doc: 'source address of unicast adverts' }),
  unicastPeers: blockKw({ conf: ['unicast_peer'], doc: 'one address per line: adverts go to these instead of the multicast group' }),
  garpMasterDelay: secondsKw(0, 3600, { conf: ['garp_master_delay'], default: 5, doc: 'seconds after takeover for the second burst of gratuitous ARPs / NAs' }),
  garpMasterRepeat: intKw(1, 255, { conf: ['garp_master_repeat'], default: 5, doc: 'gratuitous ARPs / NAs per burst' }),
  v3ChecksumAsV2: flagKw({ conf: ['old_unicast_checksum', 'v3_checksum_as_v2'], doc: 'VRRPv3 checksum without the pseudo-header, as old keepalived' }),
  referenceAddress: customKw<never>('ADDRESS [fall 1..100], fall 3 by default', {
    conf: ['reference_address'],
    doc: 'xdpvs: ping ADDRESS every advert_int; FAULT after `fall` unanswered',
  }),
  garpMasterRefresh: ignoredKw('garp_master_refresh'),
  garpMasterRefreshRepeat: ignoredKw('garp_master_refresh_repeat'),
  useVmac: ignoredKw('use_vmac'),
  dontTrackPrimary: ignoredKw('dont_track_primary'),
  mcastSrcIp: ignoredKw('mcast_src_ip'),
  smtpAlert: ignoredKw('smtp_alert'),
  trackFile: ignoredKw('track_file'),
  trackProcess: ignoredKw('track_process'),
  trackBfd: ignoredKw('track_bfd'),
} as const satisfies Table;

export const VRRP_SCRIPT = {
  script: lineKw({ conf: ['script'], doc: 'the command; exit 0 is success; required' }),
  interval: secondsKw(0.001, MAX_DELAY, { conf: ['interval'], default: 1, doc: 'seconds between runs' }),
  timeout: secondsKw(0.001, MAX_DELAY, { conf: ['timeout'], doc: 'seconds a run may take; interval by default' }),
  weight: intKw(-253, 253, { conf: ['weight'], default: 0, doc: 'added while up (> 0) or while down (< 0); 0: FAULT while down; `weight W reverse` swaps' }),
  rise: intKw(1, 1000, { conf: ['rise'], default: 1, doc: 'successes in a row to count as up' }),
  fall: intKw(1, 1000, { conf: ['fall'], default: 1, doc: 'failures in a row to count as down' }),
  initFail: flagKw({ conf: ['init_fail'], doc: 'starts down' }),
  user: ignoredKw('user', 'is not supported (scripts run as the agent user)'),
} as const satisfies Table;

export const SYNC_GROUP = {
  group: blockKw({ conf: ['group'], doc: 'the member vrrp_instances' }),
  trackInterfaces: blockKw({ conf: ['track_interface'], doc: 'tracked by every member, with its weight' }),
  trackScripts: blockKw({ conf: ['track_script'], doc: 'tracked by every member, with its weight' }),
  trackingWeight: flagKw({ conf: ['sync_group_tracking_weight'], doc: "members keep their own tracked objects' weights" }),
  globalTracking: customKw<never>('flag', { conf: ['global_tracking'], doc: 'deprecated: read as sync_group_tracking_weight, with a warning' }),
  trackFile: ignoredKw('track_file'),
  trackProcess: ignoredKw('track_process'),
  trackBfd: ignoredKw('track_bfd'),
  notifyMaster: ignoredKw('notify_master', 'is not supported on a sync group (set it on the instances)'),
  notifyBackup: ignoredKw('notify_backup', 'is not supported on a sync group (set it on the instances)'),
  notifyFault: ignoredKw('notify_fault', 'is not supported on a sync group (set it on the instances)'),
  notify: ignoredKw('notify', 'is not supported on a sync group (set it on the instances)'),
} as const satisfies Table;

/** Every block of the table, by the name the reference gives it. */
export const BLOCKS = {
  'top level / global_defs': GLOBAL,
  'service / virtual_server': SERVICE,
  'real / real_server': REAL,
  check: CHECK,
  url: URL,
  vrrp_instance: VRRP_INSTANCE,
  vrrp_script: VRRP_SCRIPT,
  vrrp_sync_group: SYNC_GROUP,
} as const;

/** A block's starting values: each keyword's default for this front end. */
export function defaults<T extends Table>(t: T, front: 'yaml' | 'conf'): Values<T> {
  const out: Record<string, unknown> = {};
  for (const [field, kw] of Object.entries(t)) out[field] = front === 'yaml' && kw.yamlDefault !== undefined ? kw.yamlDefault : kw.default;
  return out as Values<T>;
}

/** The YAML keys a block knows. */
export function yamlKeys(t: Table): string[] {
  return Object.values(t).flatMap((kw) => (kw.yaml ? [kw.yaml] : []));
}

/** A keyword's default as the reference prints it. */
export function defaultText(kw: Keyword, front: 'yaml' | 'conf'): string {
  const v = front === 'yaml' && kw.yamlDefault !== undefined ? kw.yamlDefault : kw.default;
  if (v === undefined || (kw.kind === 'flag' && v === false)) return '';
  if (Array.isArray(v)) return v.map((r: unknown) => (Array.isArray(r) ? r.join('-') : String(r))).join(',');
  return String(v);
}
