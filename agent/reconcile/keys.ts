// The keys ids are kept under: a service by its key, a real by its service
// and endpoint, a sorry server by its service.
import { endpointKey, type Endpoint, type Service } from '../config/model';

export function realKey(service: Service, real: Endpoint): string {
  return `${service.key} -> ${endpointKey(real)}`;
}

export function sorryKey(service: Service): string {
  return `${service.key} -> sorry`;
}
