/**
 * What the outbound engine looks up about a channel at run time — the hosts it may call, the
 * nights a full sync may cover — registered from the adapters by connectors/registry.ts when it
 * is loaded. The engine never imports an OTA folder; a channel it was not told of has no hosts
 * (every URL refused) and no outbound ARI.
 */
import type { OtaAdapter } from '../adapter.ts';

type Registered = Pick<OtaAdapter, 'code' | 'name' | 'hosts' | 'outbound'>;
const registered = new Map<string, Registered>();

export function registerOtas(adapters: readonly Registered[]): void {
  for (const a of adapters) registered.set(a.code, { ...a, hosts: a.hosts.map((h) => h.toLowerCase()) });
}

export function registeredOta(code: string): Registered | undefined {
  return registered.get(code);
}
