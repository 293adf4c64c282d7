// keepalived.conf syntax: what keepalived accepts (comments anywhere, tabs,
// `{` on the next line, quoted words, one-line blocks, includes with globs
// relative to the including file) and clear file:line errors for the rest.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigCode, formatDiagnostic } from '../../agent/config/diagnostics';
import { readKeepalivedConf, type ConfNode } from '../../agent/config/keepalived/reader';

let dir: string;
const write = (name: string, text: string): string => {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
};

/** keyword args { ... } as nested arrays, for readable assertions. */
function shape(nodes: ConfNode[]): unknown[] {
  return nodes.map((n) => (n.children ? [n.keyword, ...n.args, shape(n.children)] : [n.keyword, ...n.args]));
}

describe('keepalived.conf reader', () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-kconf-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a sloppy real-world file: comments after values, tabs, CRLF, { on the next line, quotes', () => {
    const file = write(
      'sloppy.conf',
      [
        '! Configuration File for keepalived',
        'global_defs {',
        '\trouter_id LVS_DEVEL   # the director',
        '}',
        '',
        'virtual_server 192.168.200.100 443',
        '{',
        '    delay_loop 6 ! seconds',
        '\tlb_algo rr',
        '    real_server 192.168.201.100 443 {',
        '        weight 1',
        '        MISC_CHECK {',
        '            misc_path "/usr/local/bin/check --host 192.168.201.100"',
        '        }',
        '    }',
        '}\r',
        'vrrp_instance VI_1 { virtual_ipaddress { 10.0.0.1/24 dev eth0 } }',
      ].join('\n'),
    );
    const r = readKeepalivedConf(file);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(shape(r.nodes), [
      ['global_defs', [['router_id', 'LVS_DEVEL']]],
      [
        'virtual_server',
        '192.168.200.100',
        '443',
        [
          ['delay_loop', '6'],
          ['lb_algo', 'rr'],
          ['real_server', '192.168.201.100', '443', [['weight', '1'], ['MISC_CHECK', [['misc_path', '/usr/local/bin/check --host 192.168.201.100']]]]],
        ],
      ],
      ['vrrp_instance', 'VI_1', [['virtual_ipaddress', [['10.0.0.1/24', 'dev', 'eth0']]]]],
    ]);
    const vs = r.nodes[1]!;
    assert.deepEqual(vs.loc, { file, line: 6 });
    assert.equal(vs.children?.[2]?.children?.[1]?.loc.line, 12);
  });

  it('splices includes in place: globs sorted, paths relative to the including file', () => {
    write('inc/conf.d/20-b.conf', 'virtual_server 10.0.0.2 80 {\n  include ../reals/b.conf\n}\n');
    write('inc/conf.d/10-a.conf', 'virtual_server 10.0.0.1 80 {\n}\n');
    write('inc/conf.d/skip.txt', 'not included\n');
    write('inc/reals/b.conf', 'real_server 10.0.1.2 80 {\n  weight 2\n}\n');
    const main = write('inc/keepalived.conf', 'global_defs {\n}\ninclude conf.d/*.conf\n');
    const r = readKeepalivedConf(main);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(shape(r.nodes), [
      ['global_defs', []],
      ['virtual_server', '10.0.0.1', '80', []],
      ['virtual_server', '10.0.0.2', '80', [['real_server', '10.0.1.2', '80', [['weight', '2']]]]],
    ]);
    assert.equal(r.nodes[2]?.children?.[0]?.loc.file, path.join(dir, 'inc/reals/b.conf'));
    assert.equal(r.files.length, 4);
  });

  it('a missing include is an error at the include line; an empty glob a warning', () => {
    const file = write('missing.conf', 'global_defs {\n}\ninclude nothere.conf\ninclude none/*.conf\n');
    const r = readKeepalivedConf(file);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.severity, d.code, d.loc.line]),
      [
        ['error', ConfigCode.INCLUDE, 3],
        ['warning', ConfigCode.EMPTY_INCLUDE, 4],
      ],
    );
    assert.match(formatDiagnostic(r.diagnostics[0]!), /missing\.conf:3: error: cannot read .*nothere\.conf: ENOENT/);
  });

  it('an include loop is an error, not a hang', () => {
    write('loop/a.conf', 'include b.conf\n');
    write('loop/b.conf', 'include a.conf\n');
    const r = readKeepalivedConf(path.join(dir, 'loop/a.conf'));
    assert.equal(r.diagnostics.length, 1);
    assert.match(r.diagnostics[0]!.message, /include loop: .*a\.conf -> .*b\.conf -> .*a\.conf/);
    assert.equal(r.diagnostics[0]!.loc.line, 1);
  });

  it('braces that do not pair are errors with the line', () => {
    const r1 = readKeepalivedConf(write('extra.conf', 'global_defs {\n}\n}\n'));
    assert.deepEqual(r1.diagnostics.map((d) => [d.code, d.loc.line, d.message]), [[ConfigCode.SYNTAX, 3, '"}" with no open block']]);
    const r2 = readKeepalivedConf(write('open.conf', 'global_defs {\n}\nvirtual_server 10.0.0.1 80 {\n  delay_loop 6\n'));
    assert.equal(r2.diagnostics.length, 1);
    assert.equal(r2.diagnostics[0]!.loc.line, 3);
    assert.match(r2.diagnostics[0]!.message, /block "virtual_server" is not closed/);
    const r3 = readKeepalivedConf(write('lone.conf', '{\n}\n'));
    assert.equal(r3.diagnostics[0]!.message, '"{" with no keyword before it');
  });

  it('keepalived parameter substitution and conditional lines are refused by name', () => {
    const r = readKeepalivedConf(write('vars.conf', '$VIP=10.0.0.1\n@lb1 global_defs {\n}\n'));
    assert.deepEqual(
      r.diagnostics.map((d) => [d.code, d.loc.line]),
      [
        [ConfigCode.UNSUPPORTED, 1],
        [ConfigCode.UNSUPPORTED, 2],
      ],
    );
  });
});
