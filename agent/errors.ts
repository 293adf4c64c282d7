// Stable codes for what goes wrong while the director runs, beside the
// configuration's (config/diagnostics.ts, XDPVS_CONF_*): every error a running
// agent logs carries one in its `code` field, so alerts and log searches
// match a code, not a wording. The README's table lists them all
// (test/unit/deploy.test.ts), and a unit test holds that every logged error
// names one (test/unit/errors.test.ts).
export const RunCode = {
  /** the agent could not start: loading, attaching or pinning the program, the first configuration */
  START: 'XDPVS_RUN_START',
  /** a reload was rejected or failed while applying; the previous configuration keeps serving */
  RELOAD: 'XDPVS_RUN_RELOAD',
  /** a walk of the flow table failed; flow counts are stale until the next one */
  FLOW_WALK: 'XDPVS_RUN_FLOW_WALK',
  /** looking up the reals' routes and neighbours failed; their last known next hops stay */
  REACH: 'XDPVS_RUN_REACH',
  /** a notify or quorum script could not be started */
  SCRIPT: 'XDPVS_RUN_SCRIPT',
  /** adding or removing a VRRP VIP failed */
  VIP: 'XDPVS_RUN_VIP',
  /** the control socket is unavailable: the CLI cannot reach this agent */
  CONTROL: 'XDPVS_RUN_CONTROL',
  /** stopping failed: detaching XDP or closing a part */
  STOP: 'XDPVS_RUN_STOP',
} as const;

export type RunCodeValue = (typeof RunCode)[keyof typeof RunCode];
