// The project's own configuration format, YAML (or JSON, a subset of it),
// into the model. Field names are keepalived's keywords in lower case, so an
// operator moving from keepalived.conf finds the same words; README
// "Configuration" lists them. Errors carry file:line of the offending value.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type YAMLMap } from 'yaml';
import { ConfigCode, type SourceLoc } from './diagnostics';
import {
  DEFAULTS,
  SCHEDULERS,
  serviceKey,
  type CheckKind,
  type Config,
  type Endpoint,
  type HealthCheck,
  type HttpUrl,
  type Real,
  type Service,
  emptyConfig,
} from './model';
import { address, Collector, int, oneOf, port, ringSize, seconds, statusCodes } from './values';

class Doc {
  constructor(
    readonly file: string,
    private readonly lines: LineCounter,
    readonly c: Collector,
  ) {}

  loc(node: YamlNode | null | undefined): SourceLoc {
    const offset = node?.range?.[0] ?? 0;
    return { file: this.file, line: this.lines.linePos(offset).line };
  }

  /** The map's entries, warning about keys not in `known`. */
  fields(node: YamlNode | null | undefined, what: string, known: readonly string[]): Map<string, YamlNode> | undefined {
    if (!isMap(node)) {
      this.c.error(this.loc(node), `${what} wants a mapping (key: value lines)`);
      return undefined;
    }
    const out = new Map<string, YamlNode>();
    for (const pair of (node as YAMLMap<unknown, unknown>).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!known.includes(key)) this.c.warn(this.loc(pair.key as YamlNode), `unknown key "${key}" in ${what}: ignored`);
      else out.set(key, pair.value as YamlNode);
    }
    return out;
  }

  /** A scalar as text (numbers and booleans as written). */
  text(node: YamlNode | undefined): string | undefined {
    if (node === undefined) return undefined;
    if (!isScalar(node)) {
      this.c.error(this.loc(node), 'wants a single value');
      return undefined;
    }
    return node.value === null ? undefined : String(node.value);
  }

  bool(node: YamlNode | undefined, what: string): boolean {
    if (node === undefined) return false;
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.c.error(this.loc(node), `${what} wants true or false`);
    return false;
  }

  list(node: YamlNode | undefined, what: string): YamlNode[] {
    if (node === undefined) return [];
    if (!isSeq(node)) {
      this.c.error(this.loc(node), `${what} wants a list`);
      return [];
    }
    return node.items as YamlNode[];
  }

  /** "ADDR:PORT" or "[V6]:PORT" */
  endpoint(node: YamlNode | undefined, what: string): Endpoint | undefined {
    const t = this.text(node);
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(t ?? '');
    if (!m) {
      this.c.error(this.loc(node), `${what} wants ADDRESS:PORT (IPv6 as [ADDRESS]:PORT), got "${t ?? ''}"`);
      return undefined;
    }
    const a = address(this.c, this.loc(node), what, m[1]);
    const p = port(this.c, this.loc(node), what, m[2]);
    return a !== undefined && p !== undefined ? { addr: a, port: p } : undefined;
  }
}

const CHECK_KEYS = [
  'type', 'connect_ip', 'connect_port', 'bindto', 'connect_timeout', 'retry', 'delay_before_retry', 'warmup',
  'delay_loop', 'url', 'path', 'status_code', 'digest', 'virtualhost', 'payload', 'require_reply', 'misc_path',
  'misc_timeout',
] as const;
const REAL_KEYS = ['address', 'port', 'weight', 'inhibit_on_failure', 'notify_up', 'notify_down', 'checks'] as const;
const SERVICE_KEYS = [
  'vip', 'port', 'protocol', 'lb_algo', 'lb_kind', 'persistence_timeout', 'delay_loop', 'sorry_server', 'alpha',
  'inhibit_on_failure', 'virtualhost', 'reals', 'omega', 'quorum', 'hysteresis', 'quorum_up', 'quorum_down',
] as const;
const TOP_KEYS = ['router_id', 'ring_size', 'services'] as const;

/** A url from its fields: a `url:` list item, or path/status_code/digest on the check itself. */
function urlFrom(d: Doc, f: Map<string, YamlNode>, loc: SourceLoc): HttpUrl | undefined {
  const p = d.text(f.get('path'));
  if (!p) {
    d.c.error(loc, 'an http check needs a path (or a url list of them)');
    return undefined;
  }
  const codes = f.get('status_code');
  const url: HttpUrl = {
    path: p,
    statusCodes: codes ? (statusCodes(d.c, d.loc(codes), [d.text(codes) ?? '']) ?? [[200, 299]]) : [[200, 299]],
  };
  const digest = d.text(f.get('digest'));
  if (digest !== undefined) {
    if (/^[0-9a-fA-F]{32}$/.test(digest)) url.digest = digest.toLowerCase();
    else d.c.error(d.loc(f.get('digest')), `digest wants an MD5 hex digest (32 hex digits), got "${digest}"`);
  }
  return url;
}

function readCheck(d: Doc, node: YamlNode, real: Endpoint, svc: { delayLoop: number; virtualhost?: string }): HealthCheck | undefined {
  const f = d.fields(node, 'check', CHECK_KEYS);
  if (!f) return undefined;
  const c = d.c;
  const at = (k: string): SourceLoc => d.loc(f.get(k) ?? node);
  const num = (k: string, dflt: number, lo: number, hi: number): number =>
    f.has(k) ? (seconds(c, at(k), k, d.text(f.get(k)), lo, hi) ?? dflt) : dflt;
  const type = oneOf(c, at('type'), 'check type', d.text(f.get('type')), ['tcp', 'http', 'https', 'udp', 'misc'] as const);
  if (!type) return undefined;
  let kind: CheckKind;
  if (type === 'http' || type === 'https') {
    const urls: HttpUrl[] = [];
    const items = f.has('url') ? d.list(f.get('url'), 'url').map((u) => ({ uf: d.fields(u, 'url', ['path', 'status_code', 'digest']), at: d.loc(u) })) : [{ uf: f, at: d.loc(node) }];
    for (const { uf, at: uloc } of items) {
      const url = uf ? urlFrom(d, uf, uloc) : undefined;
      if (url) urls.push(url);
    }
    const vh = d.text(f.get('virtualhost')) ?? svc.virtualhost;
    kind = { type, urls, ...(vh ? { virtualhost: vh } : {}) };
  } else if (type === 'misc') {
    const p = d.text(f.get('misc_path'));
    if (!p) {
      c.error(d.loc(node), 'a misc check needs misc_path');
      return undefined;
    }
    kind = { type, path: p, ...(f.has('misc_timeout') ? { timeout: num('misc_timeout', 0, 0.001, 3600) } : {}) };
  } else if (type === 'udp') {
    const payload = d.text(f.get('payload'));
    const req = d.text(f.get('require_reply'));
    kind = { type, ...(payload !== undefined ? { payload } : {}), ...(req !== undefined ? { require: req } : {}) };
  } else {
    kind = { type };
  }
  const connect: Endpoint = {
    addr: f.has('connect_ip') ? (address(c, at('connect_ip'), 'connect_ip', d.text(f.get('connect_ip'))) ?? real.addr) : real.addr,
    port: f.has('connect_port') ? (port(c, at('connect_port'), 'connect_port', d.text(f.get('connect_port'))) ?? real.port) : real.port,
  };
  const bindTo = f.has('bindto') ? address(c, at('bindto'), 'bindto', d.text(f.get('bindto'))) : undefined;
  return {
    ...kind,
    delayLoop: num('delay_loop', svc.delayLoop, 0.001, 86400),
    connectTimeout: num('connect_timeout', DEFAULTS.connectTimeout, 0.001, 3600),
    retry: f.has('retry') ? (int(c, at('retry'), 'retry', d.text(f.get('retry')), 0, 1000) ?? DEFAULTS.retry) : DEFAULTS.retry,
    delayBeforeRetry: num('delay_before_retry', DEFAULTS.delayBeforeRetry, 0, 86400),
    warmup: num('warmup', DEFAULTS.warmup, 0, 86400),
    connect,
    ...(bindTo ? { bindTo } : {}),
    loc: d.loc(node),
  };
}

function readReal(d: Doc, node: YamlNode, svc: { port: number; delayLoop: number; inhibitOnFailure: boolean; virtualhost?: string }): Real | undefined {
  const f = d.fields(node, 'real', REAL_KEYS);
  if (!f) return undefined;
  const c = d.c;
  const addr = address(c, d.loc(f.get('address') ?? node), 'real address', d.text(f.get('address')));
  const p = f.has('port') ? port(c, d.loc(f.get('port')), 'real port', d.text(f.get('port')), true) : svc.port;
  if (addr === undefined || p === undefined) return undefined;
  const real: Real = {
    addr,
    port: p,
    weight: f.has('weight') ? (int(c, d.loc(f.get('weight')), 'weight', d.text(f.get('weight')), 0, 65535) ?? 1) : DEFAULTS.weight,
    inhibitOnFailure: f.has('inhibit_on_failure') ? d.bool(f.get('inhibit_on_failure'), 'inhibit_on_failure') : svc.inhibitOnFailure,
    checks: [],
    loc: d.loc(node),
  };
  const up = d.text(f.get('notify_up'));
  const down = d.text(f.get('notify_down'));
  if (up) real.notifyUp = up;
  if (down) real.notifyDown = down;
  for (const ch of d.list(f.get('checks'), 'checks')) {
    const hc = readCheck(d, ch, real, svc);
    if (hc) real.checks.push(hc);
  }
  return real;
}

function readService(d: Doc, node: YamlNode): Service | undefined {
  const f = d.fields(node, 'service', SERVICE_KEYS);
  if (!f) return undefined;
  const c = d.c;
  const at = (k: string): SourceLoc => d.loc(f.get(k) ?? node);
  const vip = address(c, at('vip'), 'vip', d.text(f.get('vip')));
  const p = port(c, at('port'), 'port', d.text(f.get('port')), true);
  const protocol = f.has('protocol') ? oneOf(c, at('protocol'), 'protocol', d.text(f.get('protocol')), ['tcp', 'udp'] as const) : 'tcp';
  const scheduler = f.has('lb_algo') ? oneOf(c, at('lb_algo'), 'lb_algo', d.text(f.get('lb_algo')), SCHEDULERS) : 'mh';
  let method: Service['method'] | undefined = 'dr';
  if (f.has('lb_kind')) {
    const k = d.text(f.get('lb_kind'));
    if (k?.toLowerCase() === 'nat') {
      c.error(at('lb_kind'), 'lb_kind nat is not supported: xdpvs forwards by DR or TUN', ConfigCode.UNSUPPORTED);
      method = undefined;
    } else method = oneOf(c, at('lb_kind'), 'lb_kind', k, ['dr', 'tun'] as const);
  }
  const svc = {
    port: p ?? 0,
    delayLoop: f.has('delay_loop') ? (seconds(c, at('delay_loop'), 'delay_loop', d.text(f.get('delay_loop')), 0.001, 86400) ?? 10) : 10,
    inhibitOnFailure: d.bool(f.get('inhibit_on_failure'), 'inhibit_on_failure'),
    ...(d.text(f.get('virtualhost')) ? { virtualhost: d.text(f.get('virtualhost'))! } : {}),
  };
  const reals = d.list(f.get('reals'), 'reals').map((r) => readReal(d, r, svc)).filter((r): r is Real => r !== undefined);
  const sorry = f.has('sorry_server') ? d.endpoint(f.get('sorry_server'), 'sorry_server') : undefined;
  const persistence = f.has('persistence_timeout')
    ? int(c, at('persistence_timeout'), 'persistence_timeout', d.text(f.get('persistence_timeout')), 0, 31536000)
    : 0;
  if (vip === undefined || p === undefined || !protocol || !scheduler || !method || persistence === undefined) return undefined;
  return {
    key: serviceKey(protocol, vip, p),
    vip,
    port: p,
    protocol,
    scheduler,
    method,
    persistenceTimeout: persistence,
    delayLoop: svc.delayLoop,
    ...(sorry ? { sorryServer: sorry } : {}),
    alpha: d.bool(f.get('alpha'), 'alpha'),
    omega: d.bool(f.get('omega'), 'omega'),
    quorum: f.has('quorum') ? (int(c, at('quorum'), 'quorum', d.text(f.get('quorum')), 1, 65535 * 1024) ?? DEFAULTS.quorum) : DEFAULTS.quorum,
    hysteresis: f.has('hysteresis') ? (int(c, at('hysteresis'), 'hysteresis', d.text(f.get('hysteresis')), 0, 65535 * 1024) ?? 0) : DEFAULTS.hysteresis,
    ...(d.text(f.get('quorum_up')) ? { quorumUp: d.text(f.get('quorum_up'))! } : {}),
    ...(d.text(f.get('quorum_down')) ? { quorumDown: d.text(f.get('quorum_down'))! } : {}),
    reals,
    loc: d.loc(node),
  };
}

export function yamlToModel(file: string, text: string, c: Collector): Config {
  const abs = path.resolve(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const d = new Doc(abs, lines, c);
  for (const e of doc.errors) c.error({ file: abs, line: lines.linePos(e.pos[0]).line }, `YAML: ${e.message.split('\n')[0]}`, ConfigCode.SYNTAX);
  const config: Config = emptyConfig([abs]);
  if (doc.errors.length) return config;
  if (isMap(doc.contents)) {
    for (const pair of (doc.contents as YAMLMap<unknown, unknown>).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (/^vrrp/.test(key)) {
        c.error(d.loc(pair.key as YamlNode), `${key}: VRRP is configured in keepalived.conf syntax (README "VRRP"); the YAML format has services only`, ConfigCode.UNSUPPORTED);
      }
    }
  }
  const f = d.fields(doc.contents as YamlNode, 'the top level', [...TOP_KEYS, 'vrrp_instances', 'vrrp_scripts', 'vrrp_sync_groups']);
  if (!f) return config;
  const rid = d.text(f.get('router_id'));
  if (rid) config.routerId = rid;
  if (f.has('ring_size')) config.ringSize = ringSize(c, d.loc(f.get('ring_size')), d.text(f.get('ring_size'))) ?? DEFAULTS.ringSize;
  const seen = new Map<string, Service>();
  for (const s of d.list(f.get('services'), 'services')) {
    const svc = readService(d, s);
    if (!svc) continue;
    const dup = seen.get(svc.key);
    if (dup) c.error(svc.loc, `service ${svc.key} is defined twice (first at line ${dup.loc.line})`);
    else {
      seen.set(svc.key, svc);
      config.services.push(svc);
    }
  }
  return config;
}

export function readYamlFile(file: string, c: Collector): Config {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    c.error({ file: path.resolve(file), line: 0 }, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, ConfigCode.INCLUDE);
    return emptyConfig([]);
  }
  return yamlToModel(file, text, c);
}
