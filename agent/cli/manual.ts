// The hand-written sections of xdpvs(8), in roff. docs.ts generates the rest
// (NAME, SYNOPSIS, OPTIONS, COMMANDS) from the commander tree. Facts the CLI
// also knows (default directories, the socket's name) come in as parameters
// taken from that tree, so the prose cannot contradict the options.
//
// Roff rules kept here by hand (test/unit/cli-docs.test.ts runs groff -ww over
// the result): option names and command-line dashes are \-, a text line never
// starts with "." or "'", and no line is blank.

export interface ManualFacts {
  /** `xdpvs run --pin-dir` default */
  pinDir: string;
  /** `xdpvs run --state-dir` default */
  stateDir: string;
  /** `xdpvs decap attach --pin-dir` default */
  decapPinDir: string;
  /** the control socket's file name in the state directory */
  socket: string;
}

export const DESCRIPTION = String.raw`.B xdpvs
is a layer 4 load balancer in the manner of LVS: a director owns virtual IP
addresses (VIPs) and spreads the connections to each virtual service over a set
of real servers.
Its packet path is an XDP program on the director's interfaces; an agent
programs the program's BPF maps, runs the health checks and speaks VRRP, as
.BR keepalived (8)
does for IPVS.
.PP
A new flow is scheduled to a real server, recorded in a flow table, and handed
to the real server by direct routing (DR: the Ethernet destination is rewritten)
or by tunnelling (TUN: IPIP or IP6IP6, also 4in6 and 6in4); the real server
answers the client directly.
Real servers therefore hold the VIP on their loopback interface and do not
answer ARP for it (arp_ignore=1, arp_announce=2); one without the ipip and
ip6_tunnel modules can strip the tunnel with
.BR "xdpvs decap" .
Packets to no VIP (ARP, VRRP, SSH, health check replies) pass to the kernel
untouched, and established flows stay on their real server when the
configuration changes.
.PP
The configuration is a
.BR keepalived.conf (5),
used unchanged (virtual_server, real_server, TCP_CHECK, HTTP_GET, SSL_GET,
UDP_CHECK, MISC_CHECK, vrrp_instance, vrrp_script, vrrp_sync_group), or the same
model in YAML or JSON; the format follows the file name, else the content.
Schedulers: rr, wrr, lc, wlc, sh, dh, mh, sed, nq (lc, wlc, sed and nq are
weighted consistent hashing, the same on every director, so that a backup
taking over keeps the connections; they do not follow connection counts);
forwarding methods: DR and TUN.
A keyword xdpvs does not support is a warning and an invalid value an error,
each with its file and line;
.B xdpvs check
lists them all.
.PP
.B xdpvs run
is the director.
.BR "xdpvs list" ,
.B xdpvs stats
and
.B xdpvs real
talk to a running director through its control socket;
.B xdpvs check
and
.B xdpvs decap
stand alone.
The director serves Prometheus metrics over HTTP
.RB ( "xdpvs run \%\-\-metrics" ).`;

export const SIGNALS = String.raw`.B xdpvs run
acts on these signals:
.TP
.B SIGHUP
Reload the configuration file and apply the difference to the maps, the health
checks and the VRRP instances; established flows stay where they are.
A file with errors is rejected, each error is logged with its file and line,
and the old configuration keeps serving.
Weights set with
.B xdpvs real
end with a reload, as keepalived re\-syncs IPVS to its file.
.TP
.BR SIGTERM ", " SIGINT
Stop: the VRRP instances advertise priority 0 and remove their VIPs (a backup
takes over at once), the health checks stop, the XDP program is detached, so
forwarding stops, and the process exits with status 0.
The maps stay pinned for the next start.
.TP
.B SIGUSR2
Stop for a restart or an upgrade without dropping traffic: the XDP program stays
attached and keeps forwarding with the last maps, the maps stay pinned, and the
VRRP instances fall silent keeping their VIPs.
The next
.B xdpvs run
re\-adopts the pinned maps, replaces the program atomically and resumes.
Until it does, no health check runs, and a VRRP backup takes over once the
master down interval has passed.
.PP
A killed agent (SIGKILL) leaves its XDP program forwarding with the last maps.`;

export function files(f: ManualFacts): string {
  return String.raw`.TP
.I /etc/xdpvs/
Configuration: a keepalived.conf, or an xdpvs YAML or JSON file.
.TP
.I /etc/default/xdpvs
Read by the systemd unit
.B xdpvs.service
for its
.B xdpvs run
command line (see
.BR systemd.exec (5),
EnvironmentFile):
.RS
.TP
.B XDPVS_CONFIG
the configuration file
.RB ( \%\-f );
.TP
.B XDPVS_INTERFACES
the interfaces the VIP traffic arrives on, separated by spaces
.RB ( \%\-i );
.TP
.B XDPVS_ARGS
further options, for example
.BR "\%\-\-xdp\-mode generic" .
.RE
.TP
.I ${f.pinDir}
The director's pinned maps
.RB ( "xdpvs run \%\-\-pin\-dir" ).
A restarted agent re\-adopts them, so flows and counters survive it.
An upgrade that changes a map's layout refuses to start over the old pins:
stop the agent, remove the directory, start it; flows start afresh.
.TP
.I ${f.decapPinDir}
The maps of
.B xdpvs decap
.RB ( "\%\-\-pin\-dir" ).
.TP
.I ${f.stateDir}
The state directory
.RB ( \%\-\-state\-dir ):
.I ids.json
keeps the VIP and real server ids across restarts, so that flow entries keep
naming the same real servers;
.I ${f.socket}
is the control socket (mode 0600) that
.BR "xdpvs list" ,
.B xdpvs stats
and
.B xdpvs real
use.`;
}

export const EXAMPLES = String.raw`Check a keepalived configuration and print its service table as
.B ipvsadm \%\-Ln
would (exit status 1 if it has errors):
.PP
.RS 4
.EX
xdpvs check \-f /etc/keepalived/keepalived.conf
.EE
.RE
.PP
Run the director in the foreground on eth0, native XDP:
.PP
.RS 4
.EX
xdpvs run \-f /etc/xdpvs/keepalived.conf \-i eth0
.EE
.RE
.PP
The live table, then the same as JSON with counters and the last checks; take
a real server out gently, then give it its configured weight back:
.PP
.RS 4
.EX
xdpvs list
xdpvs list \-\-json
xdpvs real drain 192.0.2.10:80 10.0.1.11:80
xdpvs real enable 192.0.2.10:80 10.0.1.11:80
.EE
.RE
.PP
Under systemd, after editing the configuration:
.PP
.RS 4
.EX
systemctl reload xdpvs
.EE
.RE
.PP
A restart that drops no packet: SIGUSR2 leaves XDP attached and the maps
pinned, and the new agent takes them over. The package's script does it,
and a package upgrade runs it for a running agent:
.PP
.RS 4
.EX
/usr/lib/xdpvs/hitless\-restart
.EE
.RE
.PP
By hand, wait for the old agent to exit before starting the new one
.RB ( "systemctl start"
does nothing while the old one still runs):
.PP
.RS 4
.EX
systemctl kill \-\-kill\-whom=main \-\-signal=USR2 xdpvs
while systemctl is\-active \-\-quiet xdpvs; do sleep 0.1; done
systemctl start xdpvs
.EE
.RE
.PP
On a real server without the ipip module, strip the tunnels addressed to
10.0.2.1 from the directors 10.0.2.2 and 10.0.2.3 (tunnels from anywhere
else are dropped):
.PP
.RS 4
.EX
xdpvs decap attach \-i eth0 \-a 10.0.2.1 \-\-allow\-source 10.0.2.2 10.0.2.3
.EE
.RE`;

export const EXIT_STATUS = String.raw`.TP
.B 0
Success; also
.B xdpvs run
stopped by SIGTERM, SIGINT or SIGUSR2.
.TP
.B 1
An error: an invalid command line, a configuration with errors, a program that
failed to load or attach, a director that could not be reached on its control
socket or refused the request.
The message is on standard error.
.TP
.B 130
.B xdpvs demo
interrupted by SIGINT or SIGTERM, after removing its lab.`;

export const SEE_ALSO = String.raw`.BR systemctl (1),
.BR keepalived.conf (5),
.BR systemd.exec (5),
.BR bpftool (8),
.BR ipvsadm (8),
.BR keepalived (8)`;
