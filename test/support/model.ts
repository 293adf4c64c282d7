// Configuration values built in code for unit tests: a real, a service with
// the defaults the front ends would give it, and a configuration of services.
import type { Config, Real, Service } from '../../agent/config/model';
import { emptyConfig, serviceKey } from '../../agent/config/model';
import { parseAddr } from '../../agent/net/addr';

const LOC = { file: 'test', line: 1 };

export const real = (addr: string, weight = 1): Real => ({ addr: parseAddr(addr), port: 80, weight, inhibitOnFailure: false, checks: [], loc: LOC });

export function service(vip: string, reals: Real[], over: Partial<Service> = {}): Service {
  return {
    key: serviceKey('tcp', parseAddr(vip), 80),
    vip: parseAddr(vip),
    port: 80,
    protocol: 'tcp',
    scheduler: 'mh',
    method: 'dr',
    persistenceTimeout: 0,
    delayLoop: 5,
    alpha: false,
    omega: false,
    quorum: 1,
    hysteresis: 0,
    reals,
    loc: LOC,
    ...over,
  };
}

export const cfg = (services: Service[], ringSize = 251): Config => ({ ...emptyConfig([]), ringSize, services });
