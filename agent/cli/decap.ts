// `xdpvs decap`: the real server's side of TUN forwarding. Attaches the decap
// program, which strips IPIP / IP6IP6 / 4in6 / 6in4 outer headers addressed
// to the given addresses and sent from the allowed sources (the directors);
// its maps stay pinned so later calls can report.
import { Command, Option } from 'commander';
import * as fs from 'node:fs';
import { addrBytes, addrFromBytes } from '../dataplane/addr';
import { parseAddr, parsePrefix, type Prefix } from '../net/addr';
import { ensurePinDir } from '../dataplane/bpffs';
import { DecapDataplane } from '../dataplane/lb';
import { attachXdp, detachXdp, type XdpMode } from '../dataplane/xdp';

export const DECAP_PIN_DIR = '/sys/fs/bpf/xdpvs-decap';
const modeOption = (): Option =>
  new Option('--xdp-mode <mode>', 'XDP attach mode').choices(['native', 'generic']).default('native');
const pinOption = (): Option => new Option('--pin-dir <dir>', 'bpffs directory for the maps').default(DECAP_PIN_DIR);

interface AttachOpts {
  interface: string[];
  address: string[];
  allowSource?: string[];
  allowAnySource?: boolean;
  xdpMode: XdpMode;
  pinDir: string;
}

/** What --allow-any-source stands for: every source of both families. */
export const ANY_SOURCE = ['0.0.0.0/0', '::/0'];

/**
 * The tunnel sources to accept. There is no default: a decap program that
 * takes tunnels from anyone lets anyone reach what listens on the VIPs,
 * past the host's filters (CVE-2020-10136), so accepting every source is
 * said out loud, with --allow-any-source.
 */
export function allowedSources(opts: Pick<AttachOpts, 'allowSource' | 'allowAnySource'>): Prefix[] {
  if (opts.allowSource && opts.allowAnySource) {
    throw new Error('--allow-source and --allow-any-source exclude each other: give the directors\' prefixes, or accept any source');
  }
  if (opts.allowAnySource) return ANY_SOURCE.map((p) => parsePrefix(p));
  if (!opts.allowSource?.length) {
    throw new Error(
      "--allow-source PREFIX... is required: the directors' addresses or prefixes the tunnels come from " +
        '(or --allow-any-source to accept tunnels from anywhere, which CVE-2020-10136 warns against)',
    );
  }
  return opts.allowSource.map((p) => parsePrefix(p, '--allow-source'));
}

function attach(opts: AttachOpts): void {
  const addrs = opts.address.map((a) => parseAddr(a, '--address'));
  const sources = allowedSources(opts);
  ensurePinDir(opts.pinDir);
  const dp = DecapDataplane.load({ pinDir: opts.pinDir });
  try {
    for (const a of addrs) {
      const b = addrBytes(a);
      dp.addAddress({ addr: b.bytes, family: b.family });
    }
    dp.setSources(sources);
    const from = sources.join(', ');
    for (const iface of opts.interface) {
      const mode = attachXdp(iface, dp.program, opts.xdpMode);
      console.log(`decap attached to ${iface} (${mode}) for ${opts.address.join(', ')} from ${from}`);
    }
  } finally {
    dp.close();
  }
}

function detach(opts: { interface: string[]; xdpMode: XdpMode; pinDir: string; keepMaps?: boolean }): void {
  for (const iface of opts.interface) {
    detachXdp(iface, opts.xdpMode);
    console.log(`decap detached from ${iface}`);
  }
  if (!opts.keepMaps && fs.existsSync(opts.pinDir)) fs.rmSync(opts.pinDir, { recursive: true });
}

function stats(opts: { pinDir: string; json?: boolean }): void {
  if (!fs.existsSync(opts.pinDir)) throw new Error(`no decap maps pinned at ${opts.pinDir}: run 'xdpvs decap attach' first`);
  const dp = DecapDataplane.load({ pinDir: opts.pinDir });
  try {
    const c = dp.counters();
    const names = ['decapsulated', 'passed', 'malformed', 'source_refused'] as const;
    const out = Object.fromEntries(
      names.map((n, i) => [n, { packets: Number(c[i]?.packets ?? 0n), bytes: Number(c[i]?.bytes ?? 0n) }]),
    );
    const addresses = dp.addresses().map((k) => addrFromBytes(k.addr, k.family).toString());
    const allowedSources = dp.sources().map(String);
    if (opts.json) {
      console.log(JSON.stringify({ addresses, allowedSources, counters: out }, null, 2));
      return;
    }
    console.log(`addresses: ${addresses.join(', ') || '(none)'}`);
    console.log(`allowed sources: ${allowedSources.join(', ') || '(none: every tunnel is refused)'}`);
    for (const n of names) console.log(`${n.padEnd(13)} ${String(out[n]?.packets).padStart(12)} pkts ${String(out[n]?.bytes).padStart(14)} bytes`);
  } finally {
    dp.close();
  }
}

export function decapCommand(): Command {
  const cmd = new Command('decap').description(
    'strip IPIP/IP6IP6 tunnels on a real server (for hosts without the ipip / ip6_tunnel modules)',
  );
  cmd
    .command('attach')
    .description(
      'attach the decap program; packets tunnelled to ADDRESS from an allowed source lose their outer header and go up the stack; ' +
        'tunnels to ADDRESS from any other source are dropped and counted (source_refused)',
    )
    .requiredOption('-i, --interface <iface...>', 'interface(s) the tunnelled packets arrive on')
    .requiredOption('-a, --address <addr...>', "this host's tunnel endpoint address(es), the director's outer destination")
    .option(
      '-s, --allow-source <prefix...>',
      "the directors' addresses or prefixes (IPv4 or IPv6, e.g. 10.0.0.1 fd00::/64) tunnels are accepted from; required unless --allow-any-source",
    )
    .option('--allow-any-source', 'accept tunnels from any source (0.0.0.0/0 and ::/0): only where a firewall in front filters them')
    .addOption(modeOption())
    .addOption(pinOption())
    .action(attach);
  cmd
    .command('detach')
    .description('detach the decap program and remove its pinned maps')
    .requiredOption('-i, --interface <iface...>', 'interface(s) to detach from')
    .addOption(modeOption())
    .addOption(pinOption())
    .option('--keep-maps', 'leave the pinned maps (counters, addresses) in place')
    .action(detach);
  cmd
    .command('stats')
    .description('addresses and counters of the attached decap program')
    .addOption(pinOption())
    .option('--json', 'print JSON')
    .action(stats);
  return cmd;
}
