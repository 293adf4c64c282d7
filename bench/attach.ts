// Bench helper, run inside a namespace: load a BPF object, optionally set the
// first entry of a map, attach the program (native XDP) to an interface and
// pin its maps, then exit (the program stays attached).
//   node dist/bench/attach.js OBJECT PROGRAM IFACE PINDIR [MAP=HEXVALUE]
import * as path from 'node:path';
import { attachXdp, BpfObject } from '../native/index';

const [object, program, iface, pinDir, setting] = process.argv.slice(2);
if (!object || !program || !iface || !pinDir) {
  console.error('usage: attach.js OBJECT PROGRAM IFACE PINDIR [MAP=HEXVALUE]');
  process.exit(2);
}
const obj = BpfObject.open(object);
obj.load();
if (setting) {
  const [map, hex] = setting.split('=');
  obj.map(map!).update(Buffer.alloc(4), Buffer.from(hex!, 'hex'));
}
for (const name of obj.mapNames()) {
  if (!name.includes('.')) obj.map(name).pin(path.join(pinDir, name));
}
console.log(attachXdp(iface, obj.program(program), 'native'));
obj.close();
