// The system façade: what the agent needs of the host besides BPF maps and
// XDP (xdp.ts), through the bridge: raw IP sockets of one protocol on one
// interface (VRRP adverts, the reference-address probe) and raw Ethernet
// frames (gratuitous ARP, unsolicited NA), and interface indexes. Outside agent/dataplane nothing
// imports native/; VRRP reaches the host through here, behind its own
// injected VrrpHost so that its logic is tested without root.
import { ifIndex, RawSocket, sendFrame as bridgeSendFrame, type RawPacket } from '../../native/index';

export type { RawPacket };

/** A raw IP socket for one protocol on one interface. */
export interface RawIpSocket {
  /** the source address of what it sends */
  bind(addr: string): void;
  send(data: Buffer, dst: string): void;
  /** calls onPacket for every packet received, until close() */
  watch(onPacket: (p: RawPacket) => void): void;
  close(): void;
}

/** Opens a raw socket for `protocol` on `ifname`, joined to the multicast `group` if given. */
export function openRawSocket(family: 4 | 6, protocol: number, ifname: string, group?: string): RawIpSocket {
  return RawSocket.open(family, protocol, ifname, group);
}

/** One Ethernet frame out of `ifname` as it is. */
export function sendFrame(ifname: string, frame: Buffer): void {
  bridgeSendFrame(ifname, frame);
}

/** An interface's index (the reals map's egress for a redirect). */
export function interfaceIndex(ifname: string): number {
  return ifIndex(ifname);
}
