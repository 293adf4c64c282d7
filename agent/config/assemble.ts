// Model records from a block's table values (keywords.ts), the same for both
// front ends: they differ in syntax only, so what a check or a service is
// made of is said once, here.
import type { SourceLoc } from './diagnostics';
import type { CHECK, CheckType, SERVICE, Values } from './keywords';
import type { Addr } from '../net/addr';
import type { CheckKind, Endpoint, HealthCheck, HttpUrl, Real, Service } from './model';
import { serviceKey } from './model';
import type { Collector } from './values';

/** A check of `type`; undefined (reported) when a misc check has no path. `what` names it in that error. */
export function checkFrom(c: Collector, loc: SourceLoc, what: string, type: CheckType, v: Values<typeof CHECK>, urls: HttpUrl[], real: Endpoint): HealthCheck | undefined {
  let kind: CheckKind;
  if (type === 'http' || type === 'https') kind = { type, urls, ...(v.virtualhost ? { virtualhost: v.virtualhost } : {}) };
  else if (type === 'misc') {
    if (!v.miscPath) {
      c.error(loc, `${what} needs misc_path`);
      return undefined;
    }
    kind = { type, path: v.miscPath, ...(v.miscTimeout !== undefined ? { timeout: v.miscTimeout } : {}) };
  } else if (type === 'udp') {
    kind = { type, ...(v.payload !== undefined ? { payload: v.payload } : {}), ...(v.requireReply !== undefined ? { require: v.requireReply } : {}) };
  } else kind = { type };
  return {
    ...kind,
    delayLoop: v.delayLoop!,
    connectTimeout: v.connectTimeout!,
    retry: v.retry!,
    delayBeforeRetry: v.delayBeforeRetry!,
    warmup: v.warmup!,
    connect: { addr: v.connectIp ?? real.addr, port: v.connectPort ?? real.port },
    ...(v.bindTo ? { bindTo: v.bindTo } : {}),
    loc,
  };
}

export function serviceFrom(v: Values<typeof SERVICE>, vip: Addr, port: number, reals: Real[], sorryServer: Endpoint | undefined, loc: SourceLoc): Service {
  return {
    key: serviceKey(v.protocol!, vip, port),
    vip,
    port,
    protocol: v.protocol!,
    scheduler: v.scheduler!,
    method: v.method!,
    persistenceTimeout: v.persistenceTimeout!,
    delayLoop: v.delayLoop!,
    ...(sorryServer ? { sorryServer } : {}),
    alpha: v.alpha!,
    omega: v.omega!,
    quorum: v.quorum!,
    hysteresis: v.hysteresis!,
    ...(v.quorumUp ? { quorumUp: v.quorumUp } : {}),
    ...(v.quorumDown ? { quorumDown: v.quorumDown } : {}),
    reals,
    loc,
  };
}
