// `xdpvs run` and `xdpvs check`.
import { Command, Option } from 'commander';
import { Agent } from '../agent';
import { ConfigError, formatDiagnostic } from '../config/diagnostics';
import { loadConfig } from '../config/load';
import { createLogger } from '../log';
import { formatTable, rowsFromConfig } from './table';
import type { XdpMode } from '../dataplane/xdp';
import { RunCode } from '../errors';

export const DEFAULT_PIN_DIR = '/sys/fs/bpf/xdpvs';
export const DEFAULT_STATE_DIR = '/run/xdpvs';

interface RunOpts {
  config: string;
  interface: string[];
  xdpMode: XdpMode;
  pinDir: string;
  stateDir: string;
  logLevel: string;
  maxFlows?: string;
  metrics: string | false;
}

async function run(opts: RunOpts): Promise<void> {
  const log = createLogger(opts.logLevel);
  const agent = new Agent({
    configPath: opts.config,
    interfaces: opts.interface,
    xdpMode: opts.xdpMode,
    pinDir: opts.pinDir,
    stateDir: opts.stateDir,
    log,
    ...(opts.maxFlows ? { maxFlows: Number(opts.maxFlows) } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  // Signal handlers first: start() can take seconds (reaching the reals,
  // VRRP), and a signal without a handler kills Node with XDP attached. A
  // signal during start waits for it; reloads run one after another and never
  // throw (reload() logs "reload rejected" and keeps the old configuration).
  let startup: Promise<boolean> = Promise.resolve(false);
  let reloading: Promise<unknown> = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = Promise.all([startup.catch(() => false), reloading])
      .then(([started]) => (started ? agent.reload() : undefined))
      .catch((err: Error) => log.error({ code: RunCode.RELOAD, err: err.message }, 'reload rejected: the previous configuration keeps serving'));
  });
  let stopping = false;
  const exit = (detach: boolean, signal: string): void => {
    if (stopping) return;
    stopping = true;
    void startup.catch(() => false).then(async (started) => {
      if (started) {
        log.info({ signal, detach }, detach ? 'stopping: detaching xdp' : 'stopping: leaving xdp attached and maps pinned for the next agent');
        await agent.stop(detach).catch((err: Error) => log.error({ code: RunCode.STOP, err: err.message }, 'stop failed'));
      }
      log.flush?.();
      setImmediate(() => process.exit(0));
    });
  };
  process.on('SIGTERM', () => exit(true, 'SIGTERM'));
  process.on('SIGINT', () => exit(true, 'SIGINT'));
  process.on('SIGUSR2', () => exit(false, 'SIGUSR2'));
  startup = agent.start().then(
    () => true,
    async (err: unknown) => {
      log.error({ code: RunCode.START, err: err instanceof Error ? err.message : String(err) }, 'start failed: detaching');
      await agent.stop(true);
      throw err;
    },
  );
  await startup;
}

function check(opts: { config: string }): void {
  try {
    const { config, warnings } = loadConfig(opts.config);
    for (const w of warnings) console.error(formatDiagnostic(w));
    console.log(formatTable(rowsFromConfig(config), false));
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const d of err.diagnostics) console.error(formatDiagnostic(d));
      const n = err.diagnostics.filter((d) => d.severity === 'error').length;
      throw new Error(`${opts.config}: ${n} error${n === 1 ? '' : 's'}`);
    }
    throw err;
  }
}

export function runCommand(): Command {
  return new Command('run')
    .description('run the director: load the XDP program, program the maps, run health checks (SIGHUP reloads)')
    .requiredOption('-f, --config <file>', 'configuration: keepalived.conf or xdpvs YAML/JSON (detected)')
    .requiredOption('-i, --interface <iface...>', 'interface(s) the VIP traffic arrives on')
    .addOption(new Option('--xdp-mode <mode>', 'XDP attach mode').choices(['native', 'generic']).default('native'))
    .option('--pin-dir <dir>', 'bpffs directory for the pinned maps (re-adopted on restart)', DEFAULT_PIN_DIR)
    .option('--state-dir <dir>', 'directory for ids.json and the control socket', DEFAULT_STATE_DIR)
    .option('--max-flows <n>', 'flow table size (default 1048576; a pinned table keeps its size)')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics', '127.0.0.1:9641')
    .option('--no-metrics', 'no metrics endpoint')
    .option('--log-level <level>', 'pino log level', 'info')
    .addHelpText(
      'after',
      '\nSignals: SIGHUP reloads (a bad file is rejected and the old configuration keeps serving);\n' +
        'SIGTERM/SIGINT stop and detach; SIGUSR2 stops leaving XDP attached and the maps pinned,\n' +
        'so that the next `xdpvs run` takes over without dropping traffic.',
    )
    .action(run);
}

export function checkCommand(): Command {
  return new Command('check')
    .description('validate a configuration and print its service table as ipvsadm -Ln lays it out (exit 1 on errors)')
    .requiredOption('-f, --config <file>', 'keepalived.conf or xdpvs YAML/JSON')
    .action(check);
}
