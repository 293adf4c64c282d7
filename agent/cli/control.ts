// `xdpvs list`, `xdpvs stats`, `xdpvs real weight|drain|enable`: the running
// agent's state through its control socket.
import { Command, Option } from 'commander';
import { ask } from '../control/client';
import type { Answer, Request, ServiceRow } from '../control/protocol';
import { serviceKey } from '../config/model';
import { parseAddr } from '../net/addr';
import { DEFAULT_STATE_DIR } from './run';
import { formatTable, type TableRow } from './table';

const stateDirOption = (): Option => new Option('--state-dir <dir>', "the agent's state directory").default(DEFAULT_STATE_DIR);

async function request(stateDir: string, req: Request): Promise<Answer & { ok: true }> {
  const a = await ask(stateDir, req);
  if (!a.ok) throw new Error(a.error);
  return a;
}

export function rowsFromServices(services: ServiceRow[]): TableRow[] {
  return services.map((s) => ({
    service: s.key,
    scheduler: s.scheduler,
    persistence: s.persistenceTimeout,
    method: s.method,
    reals: s.reals.map((r) => ({
      endpoint: r.addr.includes(':') ? `[${r.addr}]:${r.port}` : `${r.addr}:${r.port}`,
      weight: r.weight,
      active: r.activeConn,
      inactive: r.inactConn,
      note: [r.sorry ? 'sorry' : '', r.up ? '' : 'down', r.reached ? '' : 'unreached', r.weight !== r.configuredWeight && !r.sorry ? `weight set (configured ${r.configuredWeight})` : '']
        .filter(Boolean)
        .join(', '),
    })),
  }));
}

/** "192.0.2.10:80" (or "[2001:db8::1]:80") and a protocol -> the service key. */
function parseService(text: string, protocol: 'tcp' | 'udp'): string {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text);
  if (!m) throw new Error(`service: wants VIP:PORT (IPv6 as [VIP]:PORT), got "${text}"`);
  return serviceKey(protocol, parseAddr(m[1]!, 'service'), Number(m[2]));
}

export function controlCommands(): Command[] {
  const list = new Command('list')
    .description('live services and reals, as ipvsadm -Ln lays them out (connections: flows seen in the last 60 s / older), and VRRP instances')
    .option('--json', 'print JSON, with per-real packets, bytes, new flows and the last check')
    .addOption(stateDirOption())
    .action(async (o: { json?: boolean; stateDir: string }) => {
      const a = await request(o.stateDir, { cmd: 'list' });
      if (!('services' in a)) throw new Error('unexpected answer');
      if (o.json) {
        console.log(JSON.stringify(a.services, null, 2));
        return;
      }
      console.log(formatTable(rowsFromServices(a.services), true));
      if (a.vrrp.length > 0) {
        const groups = a.vrrp.some((v) => v.syncGroup !== undefined);
        console.log(`\nVRRP instance        State    Priority  Adverts in/out  Dropped${groups ? '  Sync group' : ''}`);
        for (const v of a.vrrp) {
          const dropped = Object.values(v.counters.dropped).reduce((n: number, x) => n + (x ?? 0), 0);
          // a BACKUP whose timer ran out but whose group is not ready says so
          const group = v.syncGroup === undefined ? '' : `${v.syncGroup}${v.wantsMaster ? ' (wants MASTER, waits for the group)' : ''}`;
          const row = `${v.name.padEnd(21)}${v.state.padEnd(9)}${String(v.priority).padEnd(10)}${`${v.counters.received}/${v.counters.sent}`.padEnd(16)}`;
          console.log(groups ? `${row}${String(dropped).padEnd(9)}${group}`.trimEnd() : `${row}${dropped}`);
        }
      }
    });

  const stats = new Command('stats')
    .description('packet counters: per verdict reason and per service')
    .option('--json', 'print JSON')
    .addOption(stateDirOption())
    .action(async (o: { json?: boolean; stateDir: string }) => {
      const a = await request(o.stateDir, { cmd: 'stats' });
      if (!('stats' in a)) throw new Error('unexpected answer');
      if (o.json) {
        console.log(JSON.stringify(a.stats, null, 2));
        return;
      }
      console.log('Verdict              Packets          Bytes');
      for (const [reason, v] of Object.entries(a.stats.verdicts)) console.log(`${reason.padEnd(16)}${v.packets.padStart(12)}${v.bytes.padStart(15)}`);
      console.log('\nService                        Packets          Bytes   NewFlows');
      for (const s of a.stats.services) console.log(`${s.key.padEnd(26)}${s.packets.padStart(12)}${s.bytes.padStart(15)}${s.newFlows.padStart(11)}`);
    });

  const real = new Command('real').description('change a real at runtime, without a reload (forgotten on the next reload)');
  const protocol = (): Option => new Option('--protocol <proto>', 'the service protocol').choices(['tcp', 'udp']).default('tcp');
  const change = async (svc: string, rip: string, weight: number | null, o: { protocol: 'tcp' | 'udp'; stateDir: string }): Promise<void> => {
    const a = await request(o.stateDir, { cmd: 'real', service: parseService(svc, o.protocol), real: rip, weight });
    if ('done' in a) console.log(a.done);
  };
  real
    .command('weight <service> <real> <weight>')
    .description('set the weight of REAL (ADDR:PORT) in SERVICE (VIP:PORT)')
    .addOption(protocol())
    .addOption(stateDirOption())
    .action(async (svc: string, rip: string, w: string, o: { protocol: 'tcp' | 'udp'; stateDir: string }) => {
      if (!/^\d+$/.test(w) || Number(w) > 65535) throw new Error(`weight: wants an integer from 0 to 65535, got "${w}"`);
      await change(svc, rip, Number(w), o);
    });
  real
    .command('drain <service> <real>')
    .description('weight 0: no new flows, established flows stay')
    .addOption(protocol())
    .addOption(stateDirOption())
    .action((svc: string, rip: string, o: { protocol: 'tcp' | 'udp'; stateDir: string }) => change(svc, rip, 0, o));
  real
    .command('enable <service> <real>')
    .description('back to the configured weight')
    .addOption(protocol())
    .addOption(stateDirOption())
    .action((svc: string, rip: string, o: { protocol: 'tcp' | 'udp'; stateDir: string }) => change(svc, rip, null, o));
  return [list, stats, real];
}
