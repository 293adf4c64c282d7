// xdpvs(8) and the bash completion stay true to the CLI: every command and
// option of the real program() is in both, so an option added without docs
// fails here; groff formats the page without a warning; and the completion is
// run for real, in bash, as readline would call it.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command, Option } from 'commander';
import { bashCompletion, docDate, manPage, roffText } from '../../agent/cli/docs';
import { program } from '../../agent/cli/main';

const ROOT = path.join(__dirname, '..', '..', '..');
const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

interface Cmd {
  words: string[];
  cmd: Command;
}

/** Every command below the top with the words that reach it: ['run'], ['real', 'weight'], ... */
function commands(cmd: Command, at: string[] = []): Cmd[] {
  return cmd.commands.flatMap((c) => [{ words: [...at, c.name()], cmd: c }, ...commands(c, [...at, c.name()])]);
}

const flags = (o: Option): string[] => [o.short, o.long].filter((f): f is string => f !== undefined);
const options = (c: Command): Option[] => c.options.filter((o) => !o.hidden);
/** An option name as the page must write it: dashes are minus signs. */
const roffFlag = (f: string): string => f.replace(/-/g, '\\-');

const page = manPage(program(), { version, date: '2001-02-03' });
const script = bashCompletion(program());

/** groff over the page; a missing groff fails with the package to install. */
function groff(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync('groff', args, { input: page, encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    assert.fail('groff is not installed: apt-get install groff-base (the Debian package this test needs)');
  }
  assert.equal(r.status, 0, `groff ${args.join(' ')} failed: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** The page's lines from the .SS (or .SH) line that includes `heading` to the next one. */
function section(heading: string): string {
  const lines = page.split('\n');
  const start = lines.findIndex((l) => /^\.S[SH] /.test(l) && l.includes(heading));
  assert.ok(start >= 0, `no section for ${heading}`);
  const end = lines.findIndex((l, i) => i > start && /^\.S[SH] /.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * COMPREPLY for each case, the last word being the one completed, from one
 * bash that sources the script: COMP_WORDS and COMP_CWORD as bash sets them.
 */
function complete(cases: string[][], cwd = ROOT): string[][] {
  const driver = cases.map(
    (w) =>
      `COMP_WORDS=(${w.map(q).join(' ')}); COMP_CWORD=${w.length - 1}; COMPREPLY=(); ` +
      `_xdpvs xdpvs ${q(w.at(-1)!)} ${q(w.at(-2)!)}; printf '%s\\t' "\${COMPREPLY[@]}"; echo`,
  );
  const r = spawnSync('bash', ['--norc', '--noprofile'], { input: `${script}\n${driver.join('\n')}\n`, encoding: 'utf8', cwd });
  assert.equal(r.stderr, '', 'the completion wrote to stderr');
  assert.equal(r.status, 0);
  return r.stdout
    .split('\n')
    .slice(0, cases.length)
    .map((l) => l.split('\t').filter((x) => x !== ''));
}

const completeOne = (words: string[], cwd?: string): string[] => complete([words], cwd)[0]!;

describe('xdpvs(8)', () => {
  it('has a section for every command, naming its arguments, options, defaults and choices', () => {
    const all = commands(program());
    assert.ok(all.length >= 12, 'the walk found the commands');
    for (const { words, cmd } of all) {
      const text = section(`\\fBxdpvs ${words.join(' ')}\\fR`);
      for (const a of cmd.registeredArguments) assert.ok(text.includes(`\\fI${a.name()}\\fR`), `xdpvs ${words.join(' ')}: argument ${a.name()}`);
      for (const o of options(cmd)) {
        for (const f of flags(o)) assert.ok(text.includes(roffFlag(f)), `xdpvs ${words.join(' ')}: option ${f}`);
        if ((o.required || o.optional) && o.defaultValue !== undefined) {
          // a repeatable option's default is its values, as they would be typed
          const value = Array.isArray(o.defaultValue) ? o.defaultValue.join(' ') : String(o.defaultValue);
          assert.ok(text.includes(`Default: \\fB${roffText(value)}\\fR`), `xdpvs ${words.join(' ')} ${o.long}: default`);
        }
        for (const c of o.argChoices ?? []) assert.ok(text.includes(`\\fB${c}\\fR`), `xdpvs ${words.join(' ')} ${o.long}: choice ${c}`);
      }
    }
    const top = section('OPTIONS');
    for (const o of options(program())) for (const f of flags(o)) assert.ok(top.includes(roffFlag(f)), `top-level option ${f}`);
  });

  it('has the sections a man page of section 8 has, with the hand-written facts', () => {
    const sections = page.split('\n').filter((l) => l.startsWith('.SH ')).map((l) => l.slice(4));
    assert.deepEqual(sections, ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'COMMANDS', 'SIGNALS', 'FILES', 'EXAMPLES', 'EXIT STATUS', 'SEE ALSO']);
    assert.match(page, new RegExp(`^\\.TH XDPVS 8 2001-02-03 "xdpvs ${version.replace(/\./g, '\\.')}" `, 'm'));
    for (const s of ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGUSR2']) assert.ok(section('SIGNALS').includes(s), s);
    const files = section('FILES');
    for (const f of ['/etc/xdpvs/', '/etc/default/xdpvs', 'xdpvs.service', 'XDPVS_CONFIG', 'XDPVS_INTERFACES', 'XDPVS_ARGS', '/sys/fs/bpf/xdpvs', '/run/xdpvs', 'xdpvs.sock']) {
      assert.ok(files.includes(f), f);
    }
    // SIGNALS is prose: hold it to the signals `xdpvs run` really handles
    const run = fs.readFileSync(path.join(ROOT, 'agent', 'cli', 'run.ts'), 'utf8');
    const handled = [...run.matchAll(/process\.(?:on|once)\('(SIG\w+)'/g)].map((m) => m[1]!);
    assert.ok(handled.length >= 4, 'found the handlers in run.ts');
    for (const s of handled) assert.ok(section('SIGNALS').includes(s), `run.ts handles ${s}, SIGNALS does not say so`);
    for (const ref of ['ipvsadm (8)', 'keepalived (8)', 'keepalived.conf (5)', 'systemd.exec (5)', 'bpftool (8)']) assert.ok(section('SEE ALSO').includes(ref), ref);
  });

  it('is plain roff: ASCII, no text line read as a request, every option dash a minus', () => {
    assert.match(page, /^[\x09\x0a\x20-\x7e]*$/);
    const macros = new Set(['TH', 'SH', 'SS', 'TP', 'PP', 'RS', 'RE', 'B', 'I', 'BR', 'RB', 'IR', 'RI', 'SY', 'YS', 'EX', 'EE', '\\"']);
    for (const line of page.split('\n').filter((l) => /^[.']/.test(l))) {
      assert.ok(macros.has(line.slice(1).split(' ')[0]!), `unexpected request: ${line}`);
    }
    assert.doesNotMatch(page, /(^|[^\\])--/m, 'an unescaped --');
    assert.ok(!page.includes('\n\n'), 'a blank line');
  });

  it('groff formats it without a warning', () => {
    assert.equal(groff(['-man', '-ww', '-z', '-Tutf8']).stderr, '');
    assert.equal(groff(['-man', '-ww', '-z', '-Tps']).stderr, '');
  });

  it('reads as typed once formatted', () => {
    const text = groff(['-man', '-Tascii', '-P-cbou']).stdout;
    for (const s of ['xdpvs run -f file -i iface ... [options]', 'xdpvs real weight [options] service real weight', '--xdp-mode mode', 'One of: native, generic.']) {
      assert.ok(text.includes(s), s);
    }
  });

  it('escapes what roff would read as markup', () => {
    assert.equal(roffText('a\\b'), 'a\\eb');
    assert.equal(roffText('see --pin-dir and -i'), 'see \\%\\-\\-pin\\-dir and \\%\\-i');
    assert.equal(roffText('round-robin 0-9'), 'round-robin 0-9');
    assert.equal(roffText('say "hi" \u2014 ok'), 'say \\(dqhi\\(dq \\[u2014] ok');
  });

  it('dates the page reproducibly: SOURCE_DATE_EPOCH, else the last commit', () => {
    assert.equal(docDate({ SOURCE_DATE_EPOCH: '86400' }), '1970-01-02');
    assert.throws(() => docDate({ SOURCE_DATE_EPOCH: 'yesterday' }), /SOURCE_DATE_EPOCH/);
    // a release tarball has no history: then the page is dated today
    let last = new Date();
    try {
      last = new Date(Number(execFileSync('git', ['-C', ROOT, 'log', '-1', '--format=%ct'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()) * 1000);
    } catch {
      // no git, or not a checkout
    }
    assert.equal(docDate({}, ROOT), last.toISOString().slice(0, 10));
    assert.match(docDate({}, os.tmpdir()), /^\d{4}-\d\d-\d\d$/);
  });

  it('node dist/agent/cli/docs.js man|bash-completion prints them, with package.json\'s version', () => {
    const docs = path.join(ROOT, 'dist', 'agent', 'cli', 'docs.js');
    const env = { ...process.env, SOURCE_DATE_EPOCH: '1000000000' };
    const man = execFileSync(process.execPath, [docs, 'man'], { encoding: 'utf8', env, cwd: os.tmpdir() });
    assert.equal(man, manPage(program(), { version, date: '2001-09-09' }));
    assert.equal(execFileSync(process.execPath, [docs, 'bash-completion'], { encoding: 'utf8', cwd: os.tmpdir() }), script);
  });
});

describe('bash completion', () => {
  it('is valid bash', () => {
    const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('completes every command\'s subcommands and options', () => {
    const all: Cmd[] = [{ words: [], cmd: program() }, ...commands(program())];
    const cases = all.flatMap(({ words }) => [['xdpvs', ...words, '-'], ['xdpvs', ...words, '']]);
    const replies = complete(cases);
    all.forEach(({ words, cmd }, i) => {
      const [opts, subs] = [replies[2 * i]!, replies[2 * i + 1]!];
      for (const f of [...options(cmd).flatMap(flags), '-h', '--help']) assert.ok(opts.includes(f), `xdpvs ${words.join(' ')} -<TAB>: ${f}`);
      for (const c of cmd.commands) assert.ok(subs.includes(c.name()), `xdpvs ${words.join(' ')} <TAB>: ${c.name()}`);
    });
  });

  it('completes commands at the top level and by prefix', () => {
    // every command the program has, in its order, then help
    assert.deepEqual(completeOne(['xdpvs', '']), [...program().commands.map((c) => c.name()), 'help']);
    assert.ok(completeOne(['xdpvs', '']).includes('detach'));
    assert.deepEqual(completeOne(['xdpvs', 'r']), ['run', 'real']);
    assert.deepEqual(completeOne(['xdpvs', 'decap', '']), ['attach', 'detach', 'stats', 'help']);
    assert.deepEqual(completeOne(['xdpvs', 'help', 's']), ['stats']);
  });

  it('completes a command\'s options', () => {
    assert.deepEqual(completeOne(['xdpvs', 'list', '-']), ['--json', '--state-dir', '-h', '--help']);
    assert.deepEqual(completeOne(['xdpvs', 'run', '--x']), ['--xdp-mode']);
    // no operands: the options are what there is to type
    assert.deepEqual(completeOne(['xdpvs', 'stats', '']), ['--json', '--state-dir', '-h', '--help']);
    // operands: nothing to guess
    assert.deepEqual(completeOne(['xdpvs', 'real', 'weight', '192.0.2.10:80', '']), []);
  });

  it('completes the choices of an option, also written --opt=value', () => {
    assert.deepEqual(completeOne(['xdpvs', 'run', '--xdp-mode', '']), ['native', 'generic']);
    assert.deepEqual(completeOne(['xdpvs', 'decap', 'attach', '--xdp-mode', 'g']), ['generic']);
    assert.deepEqual(completeOne(['xdpvs', 'real', 'drain', '--protocol', '']), ['tcp', 'udp']);
    assert.deepEqual(completeOne(['xdpvs', 'demo', '--method', 't']), ['tun']);
    // bash splits --xdp-mode=ge at = (COMP_WORDBREAKS)
    assert.deepEqual(completeOne(['xdpvs', 'run', '--xdp-mode', '=']), ['native', 'generic']);
    assert.deepEqual(completeOne(['xdpvs', 'run', '--xdp-mode', '=', 'ge']), ['generic']);
    // and where = is no word break
    assert.deepEqual(completeOne(['xdpvs', 'run', '--xdp-mode=ge']), ['--xdp-mode=generic']);
  });

  it('completes files for <file> and directories for <dir>', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xdpvs-compl-'));
    try {
      fs.writeFileSync(path.join(dir, 'keepalived.conf'), '');
      fs.mkdirSync(path.join(dir, 'keys'));
      assert.deepEqual(completeOne(['xdpvs', 'check', '-f', 'ke'], dir).sort(), ['keepalived.conf', 'keys']);
      assert.deepEqual(completeOne(['xdpvs', 'run', '--config', 'keep'], dir), ['keepalived.conf']);
      assert.deepEqual(completeOne(['xdpvs', 'run', '--pin-dir', 'k'], dir), ['keys']);
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('takes option values for values, not for commands', () => {
    // "run" is -f's value here, so these are check's options
    assert.deepEqual(completeOne(['xdpvs', 'check', '-f', 'run', '-']), ['-f', '--config', '-h', '--help']);
    // -i takes every word up to the next option: interfaces, then options again
    assert.ok(completeOne(['xdpvs', 'run', '-i', 'lo', '']).includes('lo'));
    assert.deepEqual(completeOne(['xdpvs', 'run', '-i', 'lo', '--xdp-mode', 'native', '--no']), ['--no-metrics']);
  });
});
