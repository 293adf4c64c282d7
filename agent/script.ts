// keepalived's notify and quorum scripts: run by /bin/sh, detached, never
// waited for; a script that cannot start is logged with its code. Notifier
// knows which script an event runs: quorum_up/quorum_down after a pass,
// notify_up/notify_down after a check, and omega's at a clean stop.
import { spawn } from 'node:child_process';
import type { Logger } from 'pino';
import type { Config } from './config/model';
import { realKey } from './reconcile/keys';
import { RunCode } from './errors';

export function runScript(script: string | undefined, log: Logger): void {
  if (!script) return;
  const child = spawn('/bin/sh', ['-c', script], { stdio: 'ignore', detached: true });
  child.on('error', (err) => log.error({ code: RunCode.SCRIPT, script, err: err.message }, 'notify script failed'));
  child.unref();
}

export class Notifier {
  readonly run: (script: string | undefined) => void;

  constructor(
    private readonly log: Logger,
    run?: (script: string | undefined) => void,
  ) {
    this.run = run ?? ((script) => runScript(script, log));
  }

  /** Services whose quorum changed in a pass: logged, and their quorum_up / quorum_down run. */
  quorum(config: Config, changes: readonly { service: string; met: boolean }[]): void {
    for (const { service, met } of changes) {
      this.log[met ? 'info' : 'warn']({ service }, met ? 'quorum gained' : 'quorum lost');
      const s = config.services.find((x) => x.key === service);
      this.run(met ? s?.quorumUp : s?.quorumDown);
    }
  }

  /** A real's checks changed its state: its notify_up / notify_down. */
  health(config: Config, key: string, up: boolean): void {
    const real = config.services.flatMap((s) => s.reals.filter((r) => realKey(s, r) === key))[0];
    this.run(up ? real?.notifyUp : real?.notifyDown);
  }

  /** keepalived omega: a clean shutdown runs the down scripts of what was up. */
  omega(config: Config, quorumMet: (service: string) => boolean | undefined, isUp: (realKey: string) => boolean | undefined): void {
    for (const s of config.services.filter((x) => x.omega)) {
      if (quorumMet(s.key)) this.run(s.quorumDown);
      for (const r of s.reals) if (isUp(realKey(s, r))) this.run(r.notifyDown);
    }
  }
}
