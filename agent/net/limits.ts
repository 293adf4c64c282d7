// The data plane's capacities (bpf/include/xdpvs.h), in a leaf module so that
// the configuration checks a file against them without importing the data
// plane; dataplane/abi.ts re-exports them and test/unit/abi.test.ts holds them
// against the objects' BTF.
export const Limits = {
  XDPVS_ICMP_QUOTE: 64,
  XDPVS_MAX_VIPS: 512,
  XDPVS_MAX_REALS: 4096,
  XDPVS_MAX_FLOWS: 1048576,
  XDPVS_MAX_IFACES: 64,
  XDPVS_IFACE_SLOTS: 64,
  XDPVS_MAX_DECAP_ADDRS: 64,
  XDPVS_MAX_DECAP_SOURCES: 256,
  XDPVS_REASON_SLOTS: 32,
  XDPVS_RING_SIZE: 65537,
  XDPVS_MAX_TABLE: 1048573,
} as const;

/** Maglev ring sizes: a prime that fits a VIP's table. */
export const RING_SIZE = { min: 3, max: Limits.XDPVS_MAX_TABLE, default: Limits.XDPVS_RING_SIZE } as const;

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}
