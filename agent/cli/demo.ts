// `xdpvs demo` (make demo). The scenario and its lab (namespaces, test HTTP
// servers, ethtool and sysctl on veths) belong to the development tree's
// test/lab, which the Debian package does not carry, so they are loaded only
// when asked for.
import { Command, Option } from 'commander';

export interface DemoOptions {
  method: 'dr' | 'tun';
  requests: string;
  hold?: boolean;
}

/** dist/agent/cli -> dist/test/lab */
const SCENARIO = '../../test/lab/demo';

async function demo(opts: DemoOptions): Promise<void> {
  let scenario: { demo(o: DemoOptions): Promise<void> };
  try {
    scenario = require(SCENARIO) as typeof scenario;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new Error('the demo runs from a checkout of xdpvs (make demo): this installation has no lab');
    }
    throw err;
  }
  await scenario.demo(opts);
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the director on an embedded topology in network namespaces: traffic, a real dying and returning, list and metrics (root)')
    .addOption(new Option('--method <method>', 'forwarding method').choices(['dr', 'tun']).default('dr'))
    .option('--requests <n>', 'requests per round', '300')
    .option('--hold', 'keep the lab up until Ctrl-C')
    .action(demo);
}
