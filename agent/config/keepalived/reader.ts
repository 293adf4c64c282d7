// Reads keepalived.conf syntax into a tree of statements, each with its
// file:line: words separated by blanks, `!` or `#` starting a comment (also
// after values), "double quoted" words, `{` opening a block on the same line
// or the next, `}` closing it, `include PATTERN` spliced in place (globs,
// relative to the including file). Meaning is given by the layer above.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { globSync, hasMagic } from 'glob';
import { ConfigCode, type Diagnostic, type SourceLoc } from '../diagnostics';

export interface ConfNode {
  keyword: string;
  args: string[];
  /** present when the statement opened a block */
  children?: ConfNode[];
  loc: SourceLoc;
}

export interface ReadResult {
  nodes: ConfNode[];
  diagnostics: Diagnostic[];
  /** every file read, in order */
  files: string[];
}

const MAX_INCLUDE_DEPTH = 16;

interface Token {
  text: string;
  /** a bare `{` or `}`, not a quoted one */
  brace: boolean;
}

/** The words of one line; null when it is only a comment or blank. */
export function tokenize(line: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      i++;
    } else if (ch === '!' || ch === '#') {
      break;
    } else if (ch === '{' || ch === '}') {
      out.push({ text: ch, brace: true });
      i++;
    } else if (ch === '"') {
      let text = '';
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        text += line[i];
        i++;
      }
      i++; // the closing quote (or the end of the line)
      out.push({ text, brace: false });
    } else {
      let text = '';
      while (i < line.length && !' \t\r{}"'.includes(line[i]!)) text += line[i++];
      out.push({ text, brace: false });
    }
  }
  return out;
}

class Reader {
  readonly diagnostics: Diagnostic[] = [];
  readonly files: string[] = [];

  private diag(severity: Diagnostic['severity'], code: Diagnostic['code'], loc: SourceLoc, message: string): void {
    this.diagnostics.push({ severity, code, loc, message });
  }

  /** Statements of one file; `chain` is the include chain that led here. */
  readFile(file: string, chain: string[], from?: SourceLoc): ConfNode[] {
    const abs = path.resolve(file);
    const where = from ?? { file: abs, line: 0 };
    if (chain.includes(abs)) {
      this.diag('error', ConfigCode.INCLUDE, where, `include loop: ${[...chain, abs].join(' -> ')}`);
      return [];
    }
    if (chain.length >= MAX_INCLUDE_DEPTH) {
      this.diag('error', ConfigCode.INCLUDE, where, `includes nested deeper than ${MAX_INCLUDE_DEPTH}`);
      return [];
    }
    let text: string;
    try {
      text = fs.readFileSync(abs, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.diag('error', ConfigCode.INCLUDE, where, `cannot read ${abs}: ${e.code ?? e.message}`);
      return [];
    }
    this.files.push(abs);
    return this.parse(abs, text, [...chain, abs]);
  }

  private parse(file: string, text: string, chain: string[]): ConfNode[] {
    const root: ConfNode[] = [];
    // open blocks: the node that owns each, and where its children go
    const stack: { node: ConfNode | undefined; children: ConfNode[] }[] = [{ node: undefined, children: root }];
    const top = () => stack[stack.length - 1]!;
    const lines = text.split('\n');

    for (let n = 0; n < lines.length; n++) {
      const loc = { file, line: n + 1 };
      let words: string[] = [];
      const flush = (): ConfNode | undefined => {
        if (words.length === 0) return undefined;
        const [keyword, ...args] = words;
        words = [];
        if (keyword === 'include') {
          if (args.length !== 1) {
            this.diag('error', ConfigCode.SYNTAX, loc, `include takes one file or pattern, got ${args.length}`);
            return undefined;
          }
          top().children.push(...this.include(args[0]!, loc, chain));
          return undefined;
        }
        if (keyword!.startsWith('$') || keyword!.startsWith('@')) {
          this.diag(
            'error',
            ConfigCode.UNSUPPORTED,
            loc,
            `keepalived ${keyword!.startsWith('$') ? 'parameter substitution ($NAME)' : 'conditional configuration (@host)'} is not supported; expand it before use`,
          );
          // not in the tree; a block it opens is read and dropped with it
          return { keyword: keyword!, args, loc };
        }
        const node: ConfNode = { keyword: keyword!, args, loc };
        top().children.push(node);
        return node;
      };

      for (const tok of tokenize(lines[n]!)) {
        if (tok.brace && tok.text === '{') {
          // `{` after words opens their block; alone, it opens the previous statement's
          const owner = words.length > 0 ? flush() : this.lastOpenable(top().children);
          if (!owner) {
            this.diag('error', ConfigCode.SYNTAX, loc, '"{" with no keyword before it');
            stack.push({ node: undefined, children: [] });
            continue;
          }
          owner.children = [];
          stack.push({ node: owner, children: owner.children });
        } else if (tok.brace && tok.text === '}') {
          flush();
          if (stack.length === 1) this.diag('error', ConfigCode.SYNTAX, loc, '"}" with no open block');
          else stack.pop();
        } else {
          words.push(tok.text);
        }
      }
      flush();
    }
    for (const open of stack.slice(1).reverse()) {
      const owner = open.node;
      this.diag(
        'error',
        ConfigCode.SYNTAX,
        owner?.loc ?? { file, line: lines.length },
        `block ${owner ? `"${owner.keyword}" ` : ''}is not closed before the end of ${file}`,
      );
    }
    return root;
  }

  /** The statement a lone `{` belongs to: the last one, if it has no block yet. */
  private lastOpenable(children: ConfNode[]): ConfNode | undefined {
    const last = children[children.length - 1];
    return last && !last.children ? last : undefined;
  }

  private include(pattern: string, loc: SourceLoc, chain: string[]): ConfNode[] {
    const base = path.dirname(loc.file);
    const abs = path.isAbsolute(pattern) ? pattern : path.join(base, pattern);
    if (!hasMagic(abs, { magicalBraces: true })) return this.readFile(abs, chain, loc);
    const matches = globSync(abs, { nodir: true, absolute: true }).sort();
    if (matches.length === 0) {
      this.diag('warning', ConfigCode.EMPTY_INCLUDE, loc, `include ${pattern} matched no file`);
      return [];
    }
    return matches.flatMap((m) => this.readFile(m, chain, loc));
  }
}

/** Reads a keepalived.conf (and what it includes) into statements. */
export function readKeepalivedConf(file: string): ReadResult {
  const reader = new Reader();
  const nodes = reader.readFile(file, []);
  return { nodes, diagnostics: reader.diagnostics, files: reader.files };
}
