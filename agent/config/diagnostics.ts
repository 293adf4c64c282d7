// Configuration diagnostics: every error or warning names its place
// (file:line) and carries a stable code that the CLI, logs and tests share.

export const ConfigCode = {
  /** braces that do not pair up, a `{` with nothing to open */
  SYNTAX: 'XDPVS_CONF_SYNTAX',
  /** an include that cannot be read, or includes itself */
  INCLUDE: 'XDPVS_CONF_INCLUDE',
  /** keepalived features xdpvs does not implement (fwmark, NAT, $VAR, @host) */
  UNSUPPORTED: 'XDPVS_CONF_UNSUPPORTED',
  /** a keyword xdpvs does not know: warned and ignored, like keepalived */
  UNKNOWN_KEYWORD: 'XDPVS_CONF_UNKNOWN_KEYWORD',
  /** a setting keepalived ignores where it stands (a weight in a sync group): ignored the same way */
  IGNORED: 'XDPVS_CONF_IGNORED',
  /** a value out of range or of the wrong form */
  INVALID_VALUE: 'XDPVS_CONF_INVALID_VALUE',
  /** an include pattern that matched no file */
  EMPTY_INCLUDE: 'XDPVS_CONF_EMPTY_INCLUDE',
  /** more services or reals than the data plane's maps hold */
  CAPACITY: 'XDPVS_CONF_CAPACITY',
  /** names something this host does not have (an interface, an address on it): checked by `xdpvs run`, not `check` */
  HOST: 'XDPVS_CONF_HOST',
} as const;

export type ConfigCodeValue = (typeof ConfigCode)[keyof typeof ConfigCode];

export interface SourceLoc {
  file: string;
  line: number;
}

export interface Diagnostic {
  severity: 'error' | 'warning';
  code: ConfigCodeValue;
  loc: SourceLoc;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.loc.file}:${d.loc.line}: ${d.severity}: ${d.message} [${d.code}]`;
}

/** Thrown when a configuration has errors; carries all of them. */
export class ConfigError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n'));
    this.name = 'ConfigError';
  }
}
