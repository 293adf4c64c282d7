// An interface's index and own MAC, which the director program needs to
// forward only frames addressed to it and to send from that MAC.
import * as fs from 'node:fs';
import { ifIndex } from '../../native/index';
import { parseMac } from '../net/addr';

export interface IfaceAddress {
  ifindex: number;
  mac: Buffer;
}

/**
 * Reads the MAC from sysfs. sysfs shows the network namespace it was mounted
 * in, not necessarily ours (`nsenter --net` keeps the old /sys), so its ifindex
 * must agree with the one the kernel gives this process for the name.
 */
export function ifaceAddress(name: string, sysfs = '/sys/class/net'): IfaceAddress {
  const ifindex = ifIndex(name);
  const dir = `${sysfs}/${name}`;
  let text: string;
  let seen: number;
  try {
    text = fs.readFileSync(`${dir}/address`, 'utf8').trim();
    seen = Number(fs.readFileSync(`${dir}/ifindex`, 'utf8').trim());
  } catch (err) {
    throw new Error(`interface ${name}: cannot read its MAC from ${dir}: ${(err as Error).message}`);
  }
  if (seen !== ifindex) {
    throw new Error(
      `interface ${name}: ${dir} describes ifindex ${seen}, this network namespace has ${ifindex}: ` +
        `mount sysfs for this namespace (ip netns exec does)`,
    );
  }
  const mac = parseMac(text, `${dir}/address`).bytes;
  return { ifindex, mac };
}
