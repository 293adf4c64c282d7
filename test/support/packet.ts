// A small packet builder for tests: Ethernet (+ one VLAN tag), IPv4 (options,
// fragments), IPv6 (extension headers), TCP, UDP, ICMP / ICMPv6 errors, and
// the outer headers a tunnel adds. Checksums are computed here, independently
// of the data plane, so tests can compare whole frames byte for byte.
import ipaddr from 'ipaddr.js';

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;

export const PROTO_ICMP = 1;
export const PROTO_IPIP = 4;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_IPV6 = 41;
export const PROTO_ICMPV6 = 58;
export const PROTO_VRRP = 112;

export function mac(text: string): Buffer {
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

export function ip(text: string): Buffer {
  return Buffer.from(ipaddr.parse(text).toByteArray());
}

/** RFC 1071 one's-complement sum of `parts`, folded and inverted. */
export function inetChecksum(...parts: Buffer[]): number {
  const all = Buffer.concat(parts);
  let sum = 0;
  for (let i = 0; i + 1 < all.length; i += 2) sum += all.readUInt16BE(i);
  if (all.length % 2) sum += (all[all.length - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface EthOpts {
  dst?: string;
  src?: string;
  type: number;
  vlan?: number;
}

export function eth(o: EthOpts, payload: Buffer): Buffer {
  const hdr = Buffer.alloc(o.vlan === undefined ? 14 : 18);
  mac(o.dst ?? '02:00:00:00:00:01').copy(hdr, 0);
  mac(o.src ?? '02:00:00:00:00:aa').copy(hdr, 6);
  if (o.vlan === undefined) {
    hdr.writeUInt16BE(o.type, 12);
  } else {
    hdr.writeUInt16BE(ETH_P_8021Q, 12);
    hdr.writeUInt16BE(o.vlan, 14);
    hdr.writeUInt16BE(o.type, 16);
  }
  return Buffer.concat([hdr, payload]);
}

export interface Ipv4Opts {
  src: string;
  dst: string;
  proto: number;
  ttl?: number;
  tos?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  /** in 8-byte units */
  fragOffset?: number;
  options?: Buffer;
  /** overrides the computed total length */
  totLen?: number;
  /** overrides the computed IHL */
  ihl?: number;
}

export function ipv4(o: Ipv4Opts, payload: Buffer): Buffer {
  const options = o.options ?? Buffer.alloc(0);
  const hdr = Buffer.alloc(20 + options.length);
  hdr[0] = 0x40 | (o.ihl ?? hdr.length / 4);
  hdr[1] = o.tos ?? 0;
  hdr.writeUInt16BE(o.totLen ?? hdr.length + payload.length, 2);
  hdr.writeUInt16BE(o.id ?? 0x1234, 4);
  hdr.writeUInt16BE((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (o.fragOffset ?? 0), 6);
  hdr[8] = o.ttl ?? 64;
  hdr[9] = o.proto;
  ip(o.src).copy(hdr, 12);
  ip(o.dst).copy(hdr, 16);
  options.copy(hdr, 20);
  hdr.writeUInt16BE(inetChecksum(hdr), 10);
  return Buffer.concat([hdr, payload]);
}

export interface Ipv6Opts {
  src: string;
  dst: string;
  next: number;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  /** overrides the computed payload length */
  payloadLen?: number;
}

export function ipv6(o: Ipv6Opts, payload: Buffer): Buffer {
  const hdr = Buffer.alloc(40);
  const tc = o.trafficClass ?? 0;
  hdr.writeUInt32BE(((6 << 28) | (tc << 20) | (o.flowLabel ?? 0)) >>> 0, 0);
  hdr.writeUInt16BE(o.payloadLen ?? payload.length, 4);
  hdr[6] = o.next;
  hdr[7] = o.hopLimit ?? 64;
  ip(o.src).copy(hdr, 8);
  ip(o.dst).copy(hdr, 24);
  return Buffer.concat([hdr, payload]);
}

/** An IPv6 extension header (hop-by-hop, routing, destination options) of 8 bytes. */
export function ipv6Ext(next: number, payload: Buffer): Buffer {
  const hdr = Buffer.alloc(8);
  hdr[0] = next;
  hdr[1] = 0;
  hdr[2] = 1; // PadN option filling the rest
  hdr[3] = 4;
  return Buffer.concat([hdr, payload]);
}

/** An IPv6 fragment header. offset in 8-byte units. */
export function ipv6Frag(next: number, offset: number, more: boolean, payload: Buffer): Buffer {
  const hdr = Buffer.alloc(8);
  hdr[0] = next;
  hdr.writeUInt16BE((offset << 3) | (more ? 1 : 0), 2);
  hdr.writeUInt32BE(0xabcd, 4);
  return Buffer.concat([hdr, payload]);
}

function pseudoHeader(src: string, dst: string, proto: number, len: number): Buffer {
  const s = ip(src);
  const d = ip(dst);
  if (s.length === 4) {
    const p = Buffer.alloc(12);
    s.copy(p, 0);
    d.copy(p, 4);
    p[9] = proto;
    p.writeUInt16BE(len, 10);
    return p;
  }
  const p = Buffer.alloc(40);
  s.copy(p, 0);
  d.copy(p, 16);
  p.writeUInt32BE(len, 32);
  p[39] = proto;
  return p;
}

export interface L4Opts {
  sport: number;
  dport: number;
  /** addresses for the checksum's pseudo-header */
  src: string;
  dst: string;
}

export const TCP_SYN = 0x02;
export const TCP_ACK = 0x10;

export function tcp(o: L4Opts & { flags?: number; seq?: number; dataOffset?: number }, payload: Buffer = Buffer.alloc(0)): Buffer {
  const hdr = Buffer.alloc(20);
  hdr.writeUInt16BE(o.sport, 0);
  hdr.writeUInt16BE(o.dport, 2);
  hdr.writeUInt32BE(o.seq ?? 1000, 4);
  hdr[12] = (o.dataOffset ?? 5) << 4;
  hdr[13] = o.flags ?? TCP_SYN;
  hdr.writeUInt16BE(65535, 14);
  const seg = Buffer.concat([hdr, payload]);
  seg.writeUInt16BE(inetChecksum(pseudoHeader(o.src, o.dst, PROTO_TCP, seg.length), seg), 16);
  return seg;
}

export function udp(o: L4Opts & { len?: number }, payload: Buffer = Buffer.alloc(0)): Buffer {
  const hdr = Buffer.alloc(8);
  hdr.writeUInt16BE(o.sport, 0);
  hdr.writeUInt16BE(o.dport, 2);
  hdr.writeUInt16BE(o.len ?? 8 + payload.length, 4);
  const dgram = Buffer.concat([hdr, payload]);
  dgram.writeUInt16BE(inetChecksum(pseudoHeader(o.src, o.dst, PROTO_UDP, dgram.length), dgram) || 0xffff, 6);
  return dgram;
}

/** ICMP error (e.g. type 3 code 4 with next-hop MTU) quoting `quoted`. */
export function icmp4Error(type: number, code: number, mtu: number, quoted: Buffer): Buffer {
  const hdr = Buffer.alloc(8);
  hdr[0] = type;
  hdr[1] = code;
  hdr.writeUInt16BE(mtu, 6);
  const msg = Buffer.concat([hdr, quoted]);
  msg.writeUInt16BE(inetChecksum(msg), 2);
  return msg;
}

export function icmp4Echo(): Buffer {
  const msg = Buffer.alloc(16);
  msg[0] = 8;
  msg.writeUInt16BE(0x77, 4);
  msg.writeUInt16BE(inetChecksum(msg), 2);
  return msg;
}

/** ICMPv6 error (e.g. type 2 packet-too-big with MTU) quoting `quoted`. */
export function icmp6Error(type: number, code: number, mtu: number, quoted: Buffer, src: string, dst: string): Buffer {
  const hdr = Buffer.alloc(8);
  hdr[0] = type;
  hdr[1] = code;
  hdr.writeUInt32BE(mtu, 4);
  const msg = Buffer.concat([hdr, quoted]);
  msg.writeUInt16BE(inetChecksum(pseudoHeader(src, dst, PROTO_ICMPV6, msg.length), msg), 2);
  return msg;
}

export function arpRequest(): Buffer {
  const arp = Buffer.alloc(28);
  arp.writeUInt16BE(1, 0);
  arp.writeUInt16BE(ETH_P_IP, 2);
  arp[4] = 6;
  arp[5] = 4;
  arp.writeUInt16BE(1, 6);
  mac('02:00:00:00:00:aa').copy(arp, 8);
  ip('10.0.0.2').copy(arp, 14);
  ip('10.0.0.100').copy(arp, 24);
  return eth({ dst: 'ff:ff:ff:ff:ff:ff', type: ETH_P_ARP }, arp);
}

/** A TCP or UDP frame from client to server, IPv4 or IPv6 by the address. */
export interface FlowSpec {
  client: string;
  server: string;
  sport: number;
  dport: number;
  proto?: number;
  vlan?: number;
  payload?: Buffer;
  flags?: number;
  dstMac?: string;
  srcMac?: string;
}

export function isV6(addr: string): boolean {
  return addr.includes(':');
}

/** The IP packet of a flow (no Ethernet). */
export function flowIp(f: FlowSpec): Buffer {
  const proto = f.proto ?? PROTO_TCP;
  const l4o = { sport: f.sport, dport: f.dport, src: f.client, dst: f.server };
  const l4 = proto === PROTO_TCP ? tcp({ ...l4o, flags: f.flags ?? TCP_SYN }, f.payload) : udp(l4o, f.payload);
  return isV6(f.client)
    ? ipv6({ src: f.client, dst: f.server, next: proto, trafficClass: 0x28, flowLabel: 0x12345 }, l4)
    : ipv4({ src: f.client, dst: f.server, proto, tos: 0x28, df: true, id: 0x4242 }, l4);
}

export function flowFrame(f: FlowSpec): Buffer {
  return eth(
    {
      type: isV6(f.client) ? ETH_P_IPV6 : ETH_P_IP,
      ...(f.dstMac ? { dst: f.dstMac } : {}),
      ...(f.srcMac ? { src: f.srcMac } : {}),
      ...(f.vlan !== undefined ? { vlan: f.vlan } : {}),
    },
    flowIp(f),
  );
}

/** Replaces the MACs of a frame (what DR is expected to do). */
export function withMacs(frame: Buffer, dst: string, src: string): Buffer {
  const out = Buffer.from(frame);
  mac(dst).copy(out, 0);
  mac(src).copy(out, 6);
  return out;
}
