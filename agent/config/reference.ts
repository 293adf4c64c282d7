// README's configuration reference, rendered from the keyword table, so the
// words, ranges and defaults operators read are the ones the front ends use.
// test/unit/config-keywords.test.ts holds README.md to it.
import { BLOCKS, defaultText, type Keyword } from './keywords';

export const REFERENCE_BEGIN = '<!-- keywords: generated from agent/config/keywords.ts (keywordReference) -->';
export const REFERENCE_END = '<!-- /keywords -->';

function defaultCell(kw: Keyword): string {
  const yaml = defaultText(kw, 'yaml');
  const conf = defaultText(kw, 'conf');
  if (yaml === conf) return yaml ? `\`${yaml}\`` : '';
  return `\`${yaml}\` (keepalived.conf: \`${conf}\`)`;
}

function row(kw: Keyword): string {
  const yaml = kw.yaml ? `\`${kw.yaml}\`` : '';
  const conf = kw.conf.map((k) => `\`${k}\``).join(', ');
  const value = kw.kind === 'ignored' ? 'warned and ignored' : kw.range;
  return `| ${yaml} | ${conf} | ${value} | ${defaultCell(kw)} | ${kw.doc} |`;
}

/** The reference as README.md holds it between its markers. */
export function keywordReference(): string {
  const out = [REFERENCE_BEGIN];
  for (const [name, table] of Object.entries(BLOCKS)) {
    out.push('', `#### ${name}`, '', '| YAML | keepalived.conf | value | default | meaning |', '|---|---|---|---|---|');
    for (const kw of Object.values(table)) out.push(row(kw));
  }
  out.push('', REFERENCE_END);
  return out.join('\n');
}
