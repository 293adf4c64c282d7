// The xdpvs command line. bin/xdpvs calls main().
import { Command } from 'commander';
import { controlCommands } from './control';
import { decapCommand } from './decap';
import { demoCommand } from './demo';
import { detachCommand } from './detach';
import { checkCommand, runCommand } from './run';

const { version } = require('../../../package.json') as { version: string };

export function program(): Command {
  const cmd = new Command('xdpvs').description('LVS-style virtual server with an XDP data plane').version(version);
  for (const sub of [runCommand(), checkCommand(), ...controlCommands(), decapCommand(), detachCommand(), demoCommand()]) cmd.addCommand(sub);
  return cmd;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    console.error(`xdpvs: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
