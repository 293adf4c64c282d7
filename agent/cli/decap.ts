// `xdpvs decap`: the real server's side of TUN forwarding. Attaches the decap
// program, which strips IPIP / IP6IP6 / 4in6 / 6in4 outer headers addressed
// to the given addresses; its maps stay pinned so later calls can report.
import { Command, Option } from 'commander';
import * as fs from 'node:fs';
import { formatAddr, parseAddr } from '../dataplane/addr';
import { ensurePinDir } from '../dataplane/bpffs';
import { DecapDataplane } from '../dataplane/lb';
import { attachXdp, detachXdp, type XdpMode } from '../../native/index';

export const DECAP_PIN_DIR = '/sys/fs/bpf/xdpvs-decap';
const modeOption = (): Option =>
  new Option('--xdp-mode <mode>', 'XDP attach mode').choices(['native', 'generic']).default('native');
const pinOption = (): Option => new Option('--pin-dir <dir>', 'bpffs directory for the maps').default(DECAP_PIN_DIR);

interface AttachOpts {
  interface: string[];
  address: string[];
  xdpMode: XdpMode;
  pinDir: string;
}

function attach(opts: AttachOpts): void {
  const addrs = opts.address.map((a) => parseAddr(a, '--address'));
  ensurePinDir(opts.pinDir);
  const dp = DecapDataplane.load({ pinDir: opts.pinDir });
  try {
    for (const a of addrs) dp.addAddress({ addr: a.bytes, family: a.family });
    for (const iface of opts.interface) {
      const mode = attachXdp(iface, dp.program, opts.xdpMode);
      console.log(`decap attached to ${iface} (${mode}) for ${opts.address.join(', ')}`);
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
    const names = ['decapsulated', 'passed', 'malformed'] as const;
    const out = Object.fromEntries(
      names.map((n, i) => [n, { packets: Number(c[i]?.packets ?? 0n), bytes: Number(c[i]?.bytes ?? 0n) }]),
    );
    const addresses = dp.addresses().map((k) => formatAddr(k.addr, k.family));
    if (opts.json) {
      console.log(JSON.stringify({ addresses, counters: out }, null, 2));
      return;
    }
    console.log(`addresses: ${addresses.join(', ') || '(none)'}`);
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
    .description('attach the decap program; packets tunnelled to ADDRESS lose their outer header and go up the stack')
    .requiredOption('-i, --interface <iface...>', 'interface(s) the tunnelled packets arrive on')
    .requiredOption('-a, --address <addr...>', "this host's tunnel endpoint address(es), the director's outer destination")
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
