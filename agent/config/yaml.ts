// The project's own configuration format, YAML (or JSON, a subset of it),
// into the model: syntax only. Keys, ranges and defaults are keywords.ts's
// (keepalived's words in lower case, so an operator moving from
// keepalived.conf finds the same ones). Errors carry file:line of the value.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode, type YAMLMap } from 'yaml';
import { ConfigCode, type SourceLoc } from './diagnostics';
import { CHECK, defaults, GLOBAL, REAL, SERVICE, URL, yamlKeys, type Keyword, type Table, type Values } from './keywords';
import { checkFrom, serviceFrom } from './assemble';
import { type Config, type Endpoint, type HealthCheck, type HttpUrl, type Real, type Service, emptyConfig } from './model';
import { address, Collector, port, statusCodes } from './values';

/** A keyword's YAML key (the ones read here all have one). */
const key = (kw: Keyword): string => kw.yaml ?? '';

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

  /**
   * The table's keywords present in `f`, read into `into` (which holds the
   * defaults): a value that does not read keeps the default, its error reported.
   */
  values<T extends Table>(f: Map<string, YamlNode>, table: T, into: Values<T>): Values<T> {
    const out = into as Record<string, unknown>;
    for (const [field, kw] of Object.entries(table)) {
      const node = kw.yaml === undefined ? undefined : f.get(kw.yaml);
      if (node === undefined || !kw.read || kw.kind === 'custom') continue;
      if (kw.kind === 'flag') {
        out[field] = this.bool(node, kw.yaml!);
        continue;
      }
      out[field] = kw.read(this.c, this.loc(node), this.words(node), kw.yaml!) ?? out[field];
    }
    return into;
  }

  /** A scalar as the one word the table's readers take; none when absent or null. */
  words(node: YamlNode | undefined): string[] {
    const t = this.text(node);
    return t === undefined ? [] : [t];
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

/** A url from its fields: a `url:` list item, or path/status_code/digest on the check itself. */
function urlFrom(d: Doc, f: Map<string, YamlNode>, loc: SourceLoc): HttpUrl | undefined {
  const v = d.values(f, URL, defaults(URL, 'yaml'));
  if (!v.path) {
    d.c.error(loc, 'an http check needs a path (or a url list of them)');
    return undefined;
  }
  const codes = f.get(key(URL.statusCodes));
  if (codes) v.statusCodes = statusCodes(d.c, d.loc(codes), [d.text(codes) ?? '']) ?? v.statusCodes;
  return { path: v.path, statusCodes: v.statusCodes!, ...(v.digest !== undefined ? { digest: v.digest } : {}) };
}

function readCheck(d: Doc, node: YamlNode, real: Endpoint, svc: { delayLoop: number; virtualhost?: string | undefined }): HealthCheck | undefined {
  // path, status_code and digest may stand on the check for its one url
  const f = d.fields(node, 'check', [...yamlKeys(CHECK), ...yamlKeys(URL)]);
  if (!f) return undefined;
  const c = d.c;
  const v = d.values(f, CHECK, { ...defaults(CHECK, 'yaml'), delayLoop: svc.delayLoop, virtualhost: svc.virtualhost });
  const type = CHECK.type.read!(c, d.loc(f.get(key(CHECK.type)) ?? node), d.words(f.get(key(CHECK.type))), 'check type');
  if (!type) return undefined;
  const urls: HttpUrl[] = [];
  if (type === 'http' || type === 'https') {
    const items = f.has(key(CHECK.url)) ? d.list(f.get(key(CHECK.url)), 'url').map((u) => ({ uf: d.fields(u, 'url', yamlKeys(URL)), at: d.loc(u) })) : [{ uf: f, at: d.loc(node) }];
    for (const { uf, at: uloc } of items) {
      const url = uf ? urlFrom(d, uf, uloc) : undefined;
      if (url) urls.push(url);
    }
  }
  return checkFrom(c, d.loc(node), 'a misc check', type, v, urls, real);
}

function readReal(d: Doc, node: YamlNode, svc: { port: number; delayLoop: number; inhibitOnFailure: boolean; virtualhost?: string | undefined }): Real | undefined {
  const f = d.fields(node, 'real', yamlKeys(REAL));
  if (!f) return undefined;
  const c = d.c;
  // the address is required; its message names the real, not the key
  const addr = REAL.addr.read!(c, d.loc(f.get(key(REAL.addr)) ?? node), d.words(f.get(key(REAL.addr))), 'real address');
  const p = f.has(key(REAL.port)) ? REAL.port.read!(c, d.loc(f.get(key(REAL.port))), d.words(f.get(key(REAL.port))), 'real port') : svc.port;
  const v = d.values(f, REAL, { ...defaults(REAL, 'yaml'), inhibitOnFailure: svc.inhibitOnFailure });
  if (addr === undefined || p === undefined) return undefined;
  const real: Real = { addr, port: p, weight: v.weight!, inhibitOnFailure: v.inhibitOnFailure!, checks: [], loc: d.loc(node) };
  if (v.notifyUp) real.notifyUp = v.notifyUp;
  if (v.notifyDown) real.notifyDown = v.notifyDown;
  for (const ch of d.list(f.get(key(REAL.checks)), 'checks')) {
    const hc = readCheck(d, ch, real, svc);
    if (hc) real.checks.push(hc);
  }
  return real;
}

function readService(d: Doc, node: YamlNode): Service | undefined {
  const f = d.fields(node, 'service', yamlKeys(SERVICE));
  if (!f) return undefined;
  const c = d.c;
  const at = (k: string): SourceLoc => d.loc(f.get(k) ?? node);
  // required: read when missing too, to say so
  const vip = SERVICE.vip.read!(c, at(key(SERVICE.vip)), d.words(f.get(key(SERVICE.vip))), 'vip');
  const p = SERVICE.port.read!(c, at(key(SERVICE.port)), d.words(f.get(key(SERVICE.port))), 'port');
  const v = d.values(f, SERVICE, defaults(SERVICE, 'yaml'));
  const svc = { port: p ?? 0, delayLoop: v.delayLoop!, inhibitOnFailure: v.inhibitOnFailure!, virtualhost: v.virtualhost };
  const reals = d.list(f.get(key(SERVICE.reals)), 'reals').map((r) => readReal(d, r, svc)).filter((r): r is Real => r !== undefined);
  const sorry = f.has(key(SERVICE.sorryServer)) ? d.endpoint(f.get(key(SERVICE.sorryServer)), 'sorry_server') : undefined;
  if (vip === undefined || p === undefined) return undefined;
  return serviceFrom(v, vip, p, reals, sorry, d.loc(node));
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
      const name = isScalar(pair.key) ? String(pair.key.value) : '';
      if (/^vrrp/.test(name)) {
        c.error(d.loc(pair.key as YamlNode), `${name}: VRRP is configured in keepalived.conf syntax (README "VRRP"); the YAML format has services only`, ConfigCode.UNSUPPORTED);
      }
    }
  }
  const f = d.fields(doc.contents as YamlNode, 'the top level', [...yamlKeys(GLOBAL), 'vrrp_instances', 'vrrp_scripts', 'vrrp_sync_groups']);
  if (!f) return config;
  const v = d.values(f, GLOBAL, defaults(GLOBAL, 'yaml'));
  if (v.routerId) config.routerId = v.routerId;
  config.ringSize = v.ringSize!;
  const seen = new Map<string, Service>();
  for (const s of d.list(f.get(key(GLOBAL.services)), 'services')) {
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
