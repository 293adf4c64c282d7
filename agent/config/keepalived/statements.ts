// keepalived.conf statements read over the keyword table: a block's handlers
// are made from its keywords (value, flag, ignored), and the translator adds
// only what is syntax of its own (blocks, positional words).
import { ConfigCode } from '../diagnostics';
import type { Table, Values } from '../keywords';
import type { Collector } from '../values';
import type { ConfNode } from './reader';

export type Handler = (n: ConfNode) => void;

/**
 * Runs `handlers` over a block's statements; unknown keywords are warned
 * about. `anyCase`: a keyword is also looked up in lower case (TCP_CHECK).
 */
export function walk(c: Collector, owner: ConfNode, handlers: Record<string, Handler>, anyCase = false): void {
  for (const n of owner.children ?? []) {
    const h = handlers[n.keyword] ?? (anyCase ? handlers[n.keyword.toLowerCase()] : undefined);
    if (h) h(n);
    else c.warn(n.loc, `unknown keyword "${n.keyword}" in ${owner.keyword}: ignored`);
  }
}

export function ignored(c: Collector, why: string): Handler {
  return (n) => c.warn(n.loc, `${n.keyword} ${why}: ignored`, ConfigCode.UNSUPPORTED);
}

export function needsBlock(c: Collector, n: ConfNode): boolean {
  if (n.children) return true;
  c.error(n.loc, `${n.keyword} wants a { ... } block`, ConfigCode.SYNTAX);
  return false;
}

/**
 * Handlers for the table's value keywords (and their aliases), each reading
 * into `into` (which holds the defaults): a value that does not read keeps
 * what was there, its error reported at its line. Block and custom keywords
 * are the caller's.
 */
export function valueHandlers<T extends Table>(c: Collector, table: T, into: Values<T>): Record<string, Handler> {
  const out: Record<string, Handler> = {};
  const values = into as Record<string, unknown>;
  for (const [field, kw] of Object.entries(table)) {
    let h: Handler | undefined;
    if (kw.kind === 'ignored') h = ignored(c, kw.ignored ?? 'is not supported');
    else if (kw.kind === 'flag') h = () => (values[field] = true);
    else if (kw.read && kw.kind !== 'custom' && kw.kind !== 'block') {
      const read = kw.read;
      h = (s) => (values[field] = read(c, s.loc, s.args.length === 0 && kw.bare !== undefined ? [kw.bare] : s.args, s.keyword) ?? values[field]);
    }
    if (h) for (const name of kw.conf) out[name] = h;
  }
  return out;
}
