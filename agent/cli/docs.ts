// xdpvs(8) and the bash completion, generated from the commander tree so that
// neither can drift from the CLI: commands, options, arguments, defaults and
// choices all come from program(); the prose is hand-written in manual.ts.
// The Debian package build runs `node dist/agent/cli/docs.js man` and
// `... bash-completion`.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Command, type Argument, type Option } from 'commander';
import { SOCKET_NAME } from '../control/protocol';
import * as manual from './manual';

/** A command with the words that reach it from the top: ['xdpvs', 'real', 'weight']. */
interface Node {
  path: string[];
  cmd: Command;
  /** commander's implicit `help [command]`, not one of ours */
  implicit: boolean;
  /** the subcommands a user can type, commander's implicit `help` included */
  subs: Node[];
}

function tree(cmd: Command, at: string[] = [cmd.name()], implicit = false): Node {
  const subs = cmd
    .createHelp()
    .visibleCommands(cmd)
    .map((c) => tree(c, [...at, c.name()], !cmd.commands.includes(c)));
  return { path: at, cmd, implicit, subs };
}

function nodes(n: Node): Node[] {
  return [n, ...n.subs.flatMap(nodes)];
}

/** Options as help shows them: the command's own, then commander's -h, --help. */
function visibleOptions(cmd: Command): Option[] {
  return cmd.createHelp().visibleOptions(cmd);
}

function ownOptions(cmd: Command): Option[] {
  return cmd.options.filter((o) => !o.hidden);
}

function flagsOf(o: Option): string[] {
  return [o.short, o.long].filter((f): f is string => f !== undefined);
}

/** The placeholder of an option's value: "file" for "-f, --config <file>", "iface" for "<iface...>". */
function valueName(o: Option): string | undefined {
  return /[<[]([^>\]]+?)(\.\.\.)?[>\]]/.exec(o.flags)?.[1];
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

// ---- roff -------------------------------------------------------------------

/**
 * Text for a roff text line or a quoted macro argument: backslashes escaped,
 * dashes of option-like words as \- (a minus, not a hyphen that may turn into
 * a typographic one or a line break), non-ASCII as \[uXXXX], quotes as \(dq.
 */
export function roffText(s: string): string {
  return s
    .replace(/\\/g, '\\e')
    // \% keeps an option name from being hyphenated across lines
    .replace(/(^|[\s(["'`/|,=])(--?[A-Za-z0-9][\w.-]*)/g, (_m, pre: string, opt: string) => `${pre}\\%${opt.replace(/-/g, '\\-')}`)
    .replace(/"/g, '\\(dq')
    .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);
}

/**
 * Text lines of at most 80 bytes where the words allow (mandoc's style check),
 * none starting with . or ', which would make it a request.
 */
function textLine(s: string): string {
  const lines: string[] = [];
  for (const w of roffText(s.replace(/\s+/g, ' ').trim()).split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last]!.length + 1 + w.length <= 80) lines[last] += ` ${w}`;
    else lines.push(w);
  }
  return lines.map((l) => (/^[.']/.test(l) ? `\\&${l}` : l)).join('\n');
}

/**
 * A help description as a sentence of the page: a full stop added, the case
 * kept (descriptions may start with a name such as bpffs or keepalived.conf).
 */
function sentence(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t === '' || /[.!?]$/.test(t) ? t : `${t}.`;
}

const bold = (s: string): string => `\\fB${roffText(s)}\\fR`;
const italic = (s: string): string => `\\fI${roffText(s)}\\fR`;

/** "-i, --interface <iface...>" -> \fB\-i\fR, \fB\-\-interface\fR \fIiface\fR ...; `short`: -i only (SYNOPSIS) */
function optionTerm(o: Option, short = false): string {
  const name = valueName(o);
  const value = name === undefined ? '' : ` ${o.optional ? `[${italic(name)}]` : italic(name)}${o.variadic ? ' \\&...\\&' : ''}`;
  return (short ? flagsOf(o).slice(0, 1) : flagsOf(o)).map(bold).join(', ') + value;
}

function argumentTerm(a: Argument): string {
  const t = italic(a.name()) + (a.variadic ? ' \\&...\\&' : '');
  return a.required ? t : `[${t}]`;
}

/** A default as typed (bold), or the words the program gave in its place. */
function defaultTerm(value: unknown, description: string | undefined): string {
  if (description !== undefined) return roffText(description);
  return bold(Array.isArray(value) ? value.map(String).join(' ') : String(value));
}

function optionBody(o: Option): string[] {
  const extra: string[] = [];
  if (o.mandatory) extra.push('Required.');
  if (o.variadic) extra.push('Takes one or more values.');
  if (o.argChoices) extra.push(`One of: ${o.argChoices.map(bold).join(', ')}.`);
  if (takesValue(o) && o.defaultValue !== undefined) extra.push(`Default: ${defaultTerm(o.defaultValue, o.defaultValueDescription)}.`);
  return [textLine(sentence(o.description)), ...extra].filter((l) => l !== '');
}

function argumentBody(a: Argument): string[] {
  const extra: string[] = [];
  if (a.argChoices) extra.push(`One of: ${a.argChoices.map(bold).join(', ')}.`);
  if (a.defaultValue !== undefined) extra.push(`Default: ${defaultTerm(a.defaultValue, a.defaultValueDescription)}.`);
  return [textLine(sentence(a.description)), ...extra].filter((l) => l !== '');
}

/** A SYNOPSIS line per command that does something: its mandatory options, [options], its arguments. */
function synopsis(n: Node): string[] {
  const [top, ...rest] = n.path;
  const lines = [`.SY ${top}`, ...rest.map((w) => `.B ${roffText(w)}`)];
  for (const o of ownOptions(n.cmd).filter((x) => x.mandatory)) lines.push(optionTerm(o, true));
  if (ownOptions(n.cmd).some((x) => !x.mandatory)) lines.push('.RI [ options ]');
  for (const a of n.cmd.registeredArguments) lines.push(argumentTerm(a));
  lines.push('.YS');
  return lines;
}

function commandSection(n: Node): string[] {
  const args = n.cmd.registeredArguments;
  const title = [bold(n.path.join(' ')), ...(ownOptions(n.cmd).length > 0 ? ['[\\fIoptions\\fR]'] : []), ...args.map(argumentTerm)];
  const lines = [`.SS "${title.join(' ')}"`, textLine(sentence(n.cmd.description()))];
  if (n.subs.length > 0) lines.push(`Commands: ${n.subs.filter((s) => !s.implicit).map((s) => bold(s.cmd.name())).join(', ')}.`);
  for (const a of args.filter((x) => x.description || x.argChoices || x.defaultValue !== undefined)) {
    lines.push('.TP', argumentTerm(a), ...argumentBody(a));
  }
  for (const o of ownOptions(n.cmd)) lines.push('.TP', optionTerm(o), ...optionBody(o));
  return lines;
}

function findCommand(root: Command, words: string[]): Command {
  let c = root;
  for (const w of words) {
    const next = c.commands.find((x) => x.name() === w);
    if (!next) throw new Error(`docs: no command "${[root.name(), ...words].join(' ')}" for the manual's facts`);
    c = next;
  }
  return c;
}

/** The default of an option the prose relies on; missing is an error, not a stale page. */
function defaultOf(root: Command, words: string[], long: string): string {
  const o = findCommand(root, words).options.find((x) => x.long === long);
  if (typeof o?.defaultValue !== 'string') throw new Error(`docs: "${[root.name(), ...words, long].join(' ')}" has no default the manual can name`);
  return o.defaultValue;
}

export interface ManOptions {
  version: string;
  /** YYYY-MM-DD */
  date: string;
}

/** xdpvs(8) in roff (man macros, with the an-ext SY/YS/EX/EE that groff and mandoc know). */
export function manPage(cmd: Command, opts: ManOptions): string {
  const root = tree(cmd);
  const name = cmd.name();
  // commands under the top level, commander's implicit `help` of groups left out
  // (the top-level one says it once)
  const commands = nodes(root).filter((n) => n !== root && !(n.implicit && n.path.length > 2));
  // commander's -h, --help: every command has it, so it is said once, at the top
  const helpOption = visibleOptions(cmd).find((o) => !cmd.options.includes(o));
  const facts: manual.ManualFacts = {
    pinDir: defaultOf(cmd, ['run'], '--pin-dir'),
    stateDir: defaultOf(cmd, ['run'], '--state-dir'),
    decapPinDir: defaultOf(cmd, ['decap', 'attach'], '--pin-dir'),
    socket: SOCKET_NAME,
  };
  const out = [
    `.\\" ${name}(8), generated by agent/cli/docs.ts from the commander tree and`,
    `.\\" agent/cli/manual.ts: edit those, not this file.`,
    `.TH ${name.toUpperCase()} 8 ${opts.date} "${roffText(`${name} ${opts.version}`)}" "System Manager's Manual"`,
    '.SH NAME',
    `${roffText(name)} \\- ${roffText(cmd.description())}`,
    '.SH SYNOPSIS',
    ...commands.filter((n) => n.subs.length === 0).flatMap(synopsis),
    // -V stands alone; -h goes with any command
    ...visibleOptions(cmd).flatMap((o) => [`.SY ${name}`, ...(o === helpOption ? ['.RI [ command ]'] : []), optionTerm(o, true), '.YS']),
    '.SH DESCRIPTION',
    manual.DESCRIPTION,
    '.SH OPTIONS',
    `These options stand alone; each command's own options are under COMMANDS.`,
    ...visibleOptions(cmd).flatMap((o) => ['.TP', optionTerm(o), ...optionBody(o)]),
    ...(helpOption ? [`Every command also takes ${flagsOf(helpOption).map(bold).join(', ')}.`] : []),
    '.SH COMMANDS',
    ...commands.flatMap(commandSection),
    '.SH SIGNALS',
    manual.SIGNALS,
    '.SH FILES',
    manual.files(facts),
    '.SH EXAMPLES',
    manual.EXAMPLES,
    '.SH EXIT STATUS',
    manual.EXIT_STATUS,
    '.SH SEE ALSO',
    manual.SEE_ALSO,
  ];
  return `${out.join('\n')}\n`;
}

// ---- bash completion --------------------------------------------------------

/** How a value completes, by its placeholder in the option's flags: one table for every option. */
const VALUE_COMPLETION: Record<string, 'file' | 'dir' | 'iface'> = { file: 'file', dir: 'dir', iface: 'iface' };

/** Words go into single-quoted bash strings and compgen -W: refuse anything that could break out. */
function word(s: string): string {
  if (!/^[\w.:/@+,=-]+$/.test(s)) throw new Error(`bash completion: "${s}" is not a plain word`);
  return s;
}

const words = (list: string[]): string => list.map(word).join(' ');

/** "one file", "multi iface", "one words native generic", "one any". */
function valueSpec(o: Option): string {
  const kind = o.argChoices ? `words ${words(o.argChoices)}` : (VALUE_COMPLETION[valueName(o) ?? ''] ?? 'any');
  return `${o.variadic ? 'multi' : 'one'} ${kind}`;
}

/** What each operand completes to: a choice list, the parent's commands for `help [command]`, else nothing. */
function argumentWords(n: Node, parent: Node | undefined, a: Argument): string {
  if (a.argChoices) return words(a.argChoices);
  if (n.implicit && parent) return words(parent.subs.map((s) => s.cmd.name()));
  return '';
}

const BASH_DRIVER = String.raw`
# Replies with the values of kind $1 (words after it) that start with $cur.
@F_values() {
    local kind=$1
    shift
    case $kind in
        words) mapfile -t COMPREPLY < <(compgen -W "$*" -- "$cur") ;;
        file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
        iface)
            local -a ifaces=(/sys/class/net/*)
            [[ -e ${"$"}{ifaces[0]} ]] || ifaces=()
            mapfile -t COMPREPLY < <(compgen -W "${"$"}{ifaces[*]##*/}" -- "$cur")
            ;;
        *) COMPREPLY=() ;;
    esac
}

@F() {
    local cur=${"$"}{COMP_WORDS[COMP_CWORD]} path=@N word value='' got=0 pos=0 prefix='' i cmds opts argsmore
    local -a args spec
    @F_command "$path"
    # Walk the words before the cursor as commander parses them: an option
    # with a value takes the next word (a variadic one every word up to the
    # next option), so an option value is never mistaken for a command.
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${"$"}{COMP_WORDS[i]}
        # --opt=value arrives as --opt, =, value when = is in COMP_WORDBREAKS
        [[ $word == = ]] && continue
        if [[ -n $value ]] && { ((got == 0)) || [[ $value == multi* && $word != -* ]]; }; then
            got=$((got + 1))
            [[ $value == one* ]] && value=''
            continue
        fi
        value=''
        if [[ $word == -* ]]; then
            [[ $word == *=* ]] || @F_value "$path $word"
            got=0
        elif [[ " $cmds " == *" $word "* ]]; then
            path="$path $word"
            pos=0
            @F_command "$path"
        else
            pos=$((pos + 1))
        fi
    done
    if [[ $cur == -*=* ]]; then
        # = not in COMP_WORDBREAKS: --opt=val is one word
        prefix=${"$"}{cur%%=*}=
        @F_value "$path ${"$"}{cur%%=*}"
        got=0
        cur=${"$"}{cur#*=}
    elif [[ $cur == = ]]; then
        cur=''
    fi
    if [[ -n $value ]] && { ((got == 0)) || [[ $value == multi* && $cur != -* ]]; }; then
        read -ra spec <<<"${"$"}{value#* }"
        @F_values "${"$"}{spec[@]}"
        [[ -n $prefix ]] && COMPREPLY=("${"$"}{COMPREPLY[@]/#/$prefix}")
        return 0
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    elif [[ -n $cmds ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$cmds" -- "$cur")
    elif ((${"$"}{#args[@]} == 0)); then
        # no operands: the options are all there is to type
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    else
        ((pos >= ${"$"}{#args[@]})) && { [[ -n $argsmore ]] && pos=$((${"$"}{#args[@]} - 1)) || return 0; }
        mapfile -t COMPREPLY < <(compgen -W "${"$"}{args[pos]}" -- "$cur")
    fi
    return 0
}

complete -F @F @N
`;

/** A bash completion script for the program: commands at every depth, options, choices, files and directories. */
export function bashCompletion(cmd: Command): string {
  const root = tree(cmd);
  const name = word(cmd.name());
  const fn = `_${name.replace(/\W/g, '_')}`;
  const all = nodes(root);
  const parentOf = (n: Node): Node | undefined => all.find((p) => p.subs.includes(n));

  const commandCases = all.map((n) => {
    const args = n.cmd.registeredArguments.map((a) => `'${argumentWords(n, parentOf(n), a)}'`);
    const more = n.cmd.registeredArguments.at(-1)?.variadic ? '1' : '';
    const opts = visibleOptions(n.cmd).flatMap(flagsOf);
    return `        '${words(n.path)}') cmds='${words(n.subs.map((s) => s.cmd.name()))}' opts='${words(opts)}' args=(${args.join(' ')}) argsmore='${more}' ;;`;
  });
  const valueCases = all.flatMap((n) =>
    visibleOptions(n.cmd)
      .filter(takesValue)
      .map((o) => `        ${flagsOf(o).map((f) => `'${words(n.path)} ${word(f)}'`).join(' | ')}) value='${valueSpec(o)}' ;;`),
  );

  return [
    `# bash completion for ${name}(8), generated from its commander tree by`,
    `# agent/cli/docs.ts (node dist/agent/cli/docs.js bash-completion): do not edit.`,
    '',
    `# Sets cmds, opts, args (per operand, the words it completes to) and`,
    `# argsmore (the last operand repeats) for the command path $1.`,
    `${fn}_command() {`,
    '    case $1 in',
    ...commandCases,
    `        *) cmds='' opts='' args=() argsmore='' ;;`,
    '    esac',
    '}',
    '',
    `# Sets value to how the value of option $1 (after its command path)`,
    `# completes: "one|multi KIND [WORDS]", or empty for an option without one.`,
    `${fn}_value() {`,
    '    case $1 in',
    ...valueCases,
    "        *) value='' ;;",
    '    esac',
    '}',
    BASH_DRIVER.replace(/@F/g, fn).replace(/@N/g, name).trimEnd(),
    '',
  ].join('\n');
}

// ---- the build's entry ------------------------------------------------------

/**
 * The page's date, reproducible: SOURCE_DATE_EPOCH (reproducible-builds.org),
 * else the last commit's date, else today. UTC, YYYY-MM-DD.
 */
export function docDate(env: NodeJS.ProcessEnv = process.env, repo = path.join(__dirname, '..', '..', '..')): string {
  const day = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 10);
  const epoch = env.SOURCE_DATE_EPOCH?.trim();
  if (epoch) {
    if (!/^\d+$/.test(epoch)) throw new Error(`SOURCE_DATE_EPOCH: wants seconds since 1970, got "${epoch}"`);
    return day(Number(epoch));
  }
  try {
    const ct = execFileSync('git', ['-C', repo, 'log', '-1', '--format=%ct'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (/^\d+$/.test(ct)) return day(Number(ct));
  } catch {
    // not a git checkout (a release tarball) or no git: today
  }
  return day(Math.floor(Date.now() / 1000));
}

export async function main(argv: string[] = process.argv): Promise<void> {
  // the tree loads the whole agent (and the addon): only the entry needs it
  const { program } = await import('./main');
  const cli = new Command('docs').description('print generated documentation of xdpvs to stdout');
  cli
    .command('man')
    .description('the xdpvs(8) man page (roff); date from SOURCE_DATE_EPOCH, else the last commit')
    .action(() => {
      const p = program();
      process.stdout.write(manPage(p, { version: p.version() ?? '0', date: docDate() }));
    });
  cli
    .command('bash-completion')
    .description('the bash completion script for xdpvs')
    .action(() => {
      process.stdout.write(bashCompletion(program()));
    });
  await cli.parseAsync(argv);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`docs: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
