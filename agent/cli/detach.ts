// `xdpvs detach`: takes xdpvs off this host entirely. `systemctl stop`
// already detaches the director; this also covers what a hitless restart
// (SIGUSR2) and `xdpvs decap attach` leave behind on purpose: attached
// programs and pinned maps. The package's removal runs it.
import { Command } from 'commander';
import { DECAP_PROGRAM, DIRECTOR_PROGRAM, removeDataplane } from '../dataplane/xdp';
import { DECAP_PIN_DIR } from './decap';
import { DEFAULT_PIN_DIR } from './run';

interface DetachOpts {
  interface?: string[];
  pinDir: string[];
}

function detach(opts: DetachOpts): void {
  const { detached, removedPins } = removeDataplane([DIRECTOR_PROGRAM, DECAP_PROGRAM], opts.pinDir, opts.interface);
  for (const p of detached) console.log(`${p.name} (id ${p.id}, ${p.mode}) detached from ${p.iface}`);
  for (const d of removedPins) console.log(`pinned maps removed: ${d}`);
  if (detached.length === 0 && removedPins.length === 0) console.log('nothing of xdpvs attached or pinned');
}

export function detachCommand(): Command {
  return new Command('detach')
    .description('take the director and decap programs off every interface and remove their pinned maps (stop the agent first)')
    .option('-i, --interface <iface...>', 'only these interfaces (default: every interface)')
    .option('--pin-dir <dir...>', 'pin directories to remove', [DEFAULT_PIN_DIR, DECAP_PIN_DIR])
    .action(detach);
}
