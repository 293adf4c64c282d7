// One entry point for configuration: detects the format, reads it into the
// model, and returns the warnings; errors (all of them) throw a ConfigError.
import * as fs from 'node:fs';
import { Limits } from '../net/limits';
import { ConfigCode, ConfigError, type Diagnostic } from './diagnostics';
import type { Config } from './model';
import { readKeepalivedConf } from './keepalived/reader';
import { keepalivedToModel } from './keepalived/translate';
import { Collector } from './values';
import { readYamlFile } from './yaml';

export type ConfigFormat = 'keepalived' | 'yaml';

const KEEPALIVED_HINT = /^\s*(global_defs|virtual_server|virtual_server_group|vrrp_instance|vrrp_script|vrrp_sync_group|include)\b/m;

/** .yaml/.yml/.json are ours; otherwise keepalived.conf if its statements look like it. */
export function detectFormat(file: string): ConfigFormat {
  if (/\.(ya?ml|json)$/i.test(file)) return 'yaml';
  let head = '';
  try {
    head = fs.readFileSync(file, 'utf8').slice(0, 64 * 1024);
  } catch {
    return 'keepalived';
  }
  return KEEPALIVED_HINT.test(head) ? 'keepalived' : 'yaml';
}

export interface Loaded {
  config: Config;
  format: ConfigFormat;
  warnings: Diagnostic[];
}

export function loadConfig(file: string, format: ConfigFormat = detectFormat(file)): Loaded {
  const c = new Collector();
  let config: Config;
  if (format === 'keepalived') {
    const read = readKeepalivedConf(file);
    c.diagnostics.push(...read.diagnostics);
    config = keepalivedToModel(read.nodes, read.files, c);
  } else {
    config = readYamlFile(file, c);
  }
  checkCapacity(config, c);
  if (c.failed) throw new ConfigError(c.diagnostics);
  return { config, format, warnings: c.diagnostics.filter((d) => d.severity === 'warning') };
}

/**
 * The maps hold XDPVS_MAX_VIPS services and XDPVS_MAX_REALS - 1 reals (id 0
 * means "no real"); a sorry server takes a real id too. Refused here, at the
 * first service or real past the limit, so a reload that could not be applied
 * is rejected before anything changes.
 */
export function checkCapacity(config: Config, c: Collector): void {
  const maxVips = Limits.XDPVS_MAX_VIPS;
  const maxReals = Limits.XDPVS_MAX_REALS - 1;
  if (config.services.length > maxVips) {
    const s = config.services[maxVips]!;
    c.error(s.loc, `${config.services.length} services: the data plane holds at most ${maxVips}`, ConfigCode.CAPACITY);
  }
  let reals = 0;
  for (const s of config.services) {
    for (const r of [...s.reals, ...(s.sorryServer ? [{ ...s.sorryServer, loc: s.loc }] : [])]) {
      if (++reals === maxReals + 1) c.error(r.loc, `more than ${maxReals} reals (sorry servers included): the data plane holds at most ${maxReals}`, ConfigCode.CAPACITY);
    }
  }
}
