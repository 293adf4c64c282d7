// Prints one line per VRRP packet heard on an interface: the monotonic
// receive time in ms, the source, the VRID and the priority. Run inside a lab
// namespace (`ip netns exec NS node vrrp-listen.js IFACE`) by tests that hold
// a director's advert timing against RFC 5798 section 6.4.3.
import { RawSocket } from '../../native/index';

const iface = process.argv[2];
if (!iface) throw new Error('usage: vrrp-listen IFACE');
const sock = RawSocket.open(4, 112, iface, '224.0.0.18');
sock.watch((p) => {
  const ms = Number(process.hrtime.bigint()) / 1e6;
  process.stdout.write(`${ms.toFixed(3)} ${p.src} ${p.data[1] ?? -1} ${p.data[2] ?? -1}\n`);
});
process.stdout.write('listening\n');
process.once('SIGTERM', () => {
  sock.close();
  process.exit(0);
});
