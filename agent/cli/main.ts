// The xdpvs command line. bin/xdpvs calls main().
import { Command } from 'commander';
import { decapCommand } from './decap';
import { checkCommand, runCommand } from './run';

const { version } = require('../../../package.json') as { version: string };

export function program(): Command {
  return new Command('xdpvs')
    .description('LVS-style virtual server with an XDP data plane')
    .version(version)
    .addCommand(runCommand())
    .addCommand(checkCommand())
    .addCommand(decapCommand());
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    console.error(`xdpvs: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
