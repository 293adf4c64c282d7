/* SPDX-License-Identifier: MIT */
/*
 * The ABI between the XDP programs and user space: map keys, map values and
 * the constants both sides use. This file is the one source of truth; the
 * TypeScript codecs in agent/dataplane/abi.ts mirror it and a unit test checks
 * them against the compiled object's BTF (sizes and field offsets).
 *
 * Constants are enums, not #defines, so that they appear in BTF.
 * Addresses and ports are in network byte order (__be*); everything else is in
 * host byte order. An IPv4 address occupies addr[0]; addr[1..3] are zero.
 */
#ifndef XDPVS_H
#define XDPVS_H

#include <linux/types.h>

enum xdpvs_limits {
	/* bytes of the offending packet an ICMP too-big message quotes */
	XDPVS_ICMP_QUOTE = 64,
	XDPVS_MAX_VIPS = 512,
	XDPVS_MAX_REALS = 4096,
	XDPVS_MAX_FLOWS = 1048576,
	XDPVS_MAX_IFACES = 64,
	/* direct-mapped slots of `ifslots`: ifindex & (XDPVS_IFACE_SLOTS - 1) */
	XDPVS_IFACE_SLOTS = 64,
	XDPVS_MAX_DECAP_ADDRS = 64,
	/* prefixes the decap program accepts tunnels from */
	XDPVS_MAX_DECAP_SOURCES = 256,
	/*
	 * Slots of the verdict counter maps (`verdicts`, `decapstats`): more than
	 * the reasons there are, so that a new reason does not change the pinned
	 * map's layout (which makes an upgrade refuse the old pins).
	 */
	XDPVS_REASON_SLOTS = 32,
	/* default length of a VIP's Maglev ring; a prime */
	XDPVS_RING_SIZE = 65537,
	/* longest table (ring or weighted round-robin sequence) a VIP may have */
	XDPVS_MAX_TABLE = 1048573,
};

/* Address family, as in <sys/socket.h>. */
enum xdpvs_family {
	XDPVS_AF_INET = 2,
	XDPVS_AF_INET6 = 10,
};

/* How a VIP chooses a real for a new flow. */
enum xdpvs_sched {
	/* table is a Maglev ring indexed by a hash of the 5-tuple (IPVS mh) */
	XDPVS_SCHED_MH = 0,
	/* table is a Maglev ring indexed by a hash of the source address (sh) */
	XDPVS_SCHED_SH = 1,
	/* table is a Maglev ring indexed by a hash of the destination address (dh) */
	XDPVS_SCHED_DH = 2,
	/* table is a weighted round-robin sequence stepped by a per-CPU cursor */
	XDPVS_SCHED_RR = 3,
};

/* How a packet reaches a real. */
enum xdpvs_method {
	/* Direct Routing: rewrite the Ethernet destination to the real's MAC */
	XDPVS_FWD_DR = 0,
	/* tunnel: push an outer IPv4 (proto 4 / 41) or IPv6 (next header 4 / 41) header */
	XDPVS_FWD_TUN = 1,
};

enum xdpvs_vip_flags {
	/* new flows of a client stick to one real for persist_timeout seconds */
	XDPVS_VIP_PERSIST = 1,
};

enum xdpvs_real_flags {
	/*
	 * The real may receive packets. Flows pinned to a real without this flag
	 * are rescheduled. A real with weight 0 (drained, or inhibited) keeps
	 * this flag and its established flows; it is simply absent from tables.
	 */
	XDPVS_REAL_ACTIVE = 1,
};

enum xdpvs_flow_kind {
	XDPVS_FLOW_CONN = 0,	/* key is the 5-tuple */
	XDPVS_FLOW_PERSIST = 1,	/* key is client address + VIP (sport zero) */
};

/*
 * Why a packet got its verdict; index of the `verdicts` counter array.
 * README.md ("Verdicts") lists the verdict of each case.
 */
enum xdpvs_reason {
	XDPVS_R_FWD_DR = 0,		/* XDP_TX / XDP_REDIRECT after a MAC rewrite */
	XDPVS_R_FWD_TUN = 1,		/* XDP_TX / XDP_REDIRECT after encapsulation */
	XDPVS_R_PASS_NOT_IP = 2,	/* ARP, LLDP, ...: not IPv4/IPv6 */
	XDPVS_R_PASS_NOT_VIP = 3,	/* IP, but no VIP matches address/port/protocol */
	XDPVS_R_PASS_ICMP = 4,		/* ICMP to a VIP that is not an error quoting a VIP flow */
	XDPVS_R_PASS_FRAGMENT = 5,	/* non-first fragment not tied to a VIP: the kernel reassembles */
	XDPVS_R_DROP_MALFORMED = 6,	/* truncated or inconsistent L2/L3/L4 header */
	XDPVS_R_DROP_FRAGMENT = 7,	/* fragment of a VIP flow (not steerable without state) */
	XDPVS_R_DROP_NO_REAL = 8,	/* the VIP's table is empty or names no active real */
	XDPVS_R_DROP_ENCAP = 9,		/* could not grow the packet for the outer header */
	XDPVS_R_DROP_CONFIG = 10,	/* no tunnel source address, egress ifindex not in txports, ingress not in ifaces */
	XDPVS_R_TOO_BIG = 11,		/* XDP_TX of ICMP frag-needed / packet-too-big: over the TUN mtu */
	XDPVS_R_DROP_TOO_BIG = 12,	/* over the TUN mtu, no ICMP due (IPv4 without DF, an ICMP error) */
	/*
	 * VIP traffic in a frame not addressed to the ingress interface's MAC
	 * (broadcast, multicast, another host's frame seen in promiscuous mode):
	 * passed to the kernel, which discards what is not for this host.
	 */
	XDPVS_R_PASS_NOT_LOCAL = 13,
	XDPVS_R_MAX = 14,
};

/* Key of `vips`. port 0 is an all-port VIP. */
struct vip_key {
	__be32 addr[4];
	__be16 port;
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;		/* enum xdpvs_family */
};

/* Value of `vips`. */
struct vip_meta {
	__u32 id;		/* slot in `tables`, `vipstats`, `cursors`; < XDPVS_MAX_VIPS */
	__u32 flags;		/* enum xdpvs_vip_flags */
	__u32 sched;		/* enum xdpvs_sched */
	__u32 table_size;	/* entries used in the VIP's table; a prime for rings */
	__u32 persist_timeout;	/* seconds; used with XDPVS_VIP_PERSIST */
	__u32 pad;
};

/* Value of `reals`, indexed by real id. Id 0 means "no real" and is never used. */
struct real_def {
	__be32 addr[4];		/* the real's address: outer destination for TUN */
	__u8 mac[6];		/* next-hop MAC: the real (DR) or the router toward it (TUN) */
	__u8 src_mac[6];	/* source MAC when redirecting; zero: keep the ingress destination MAC */
	__u32 ifindex;		/* egress: 0 sends back out the ingress (XDP_TX), else `txports` */
	__u8 family;		/* enum xdpvs_family of addr */
	__u8 method;		/* enum xdpvs_method */
	__u16 flags;		/* enum xdpvs_real_flags */
	__u16 mtu;		/* TUN: largest outer packet the egress takes; 0: unchecked */
	__u16 pad;
};

/* Key of `flows`. */
struct flow_key {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u8 kind;		/* enum xdpvs_flow_kind */
	__u8 pad;
};

/* Value of `flows`. */
struct flow_state {
	__u32 real_id;
	__u32 pad;
	__u64 last_seen;	/* CLOCK_MONOTONIC_COARSE ns, refreshed at most once a second */
};

/*
 * Value of `ifaces`, keyed by the ifindex of an interface the director is
 * attached to; written by the agent before it attaches. Frames are forwarded
 * only when addressed to `mac`, and leave with `mac` as their source (unless
 * the real names another egress with its own src_mac).
 */
struct iface_def {
	__u8 mac[6];
	__u16 pad;
};

/*
 * Value of `ifslots`, an array the program reads before `ifaces`: slot
 * ifindex & (XDPVS_IFACE_SLOTS - 1) holds one attached interface's entry
 * (ifindex 0: empty), so the common case costs an array read instead of a
 * hash lookup. An interface whose slot another one holds is found in
 * `ifaces`, which has every interface; the agent writes `ifaces` first and
 * clears a slot before it deletes the `ifaces` entry.
 */
struct iface_slot {
	__u32 ifindex;
	__u8 mac[6];
	__u16 pad;
};

/* The one entry of `settings`. */
struct lb_settings {
	__be32 tun_src4;	/* outer IPv4 source for tunnelled packets */
	__be32 tun_src6[4];	/* outer IPv6 source for tunnelled packets */
};

/* Per-CPU counters: `vipstats` (by VIP id) and `realstats` (by real id). */
struct traffic_stats {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
};

/* Per-CPU counters: `verdicts` (by enum xdpvs_reason). */
struct verdict_stats {
	__u64 packets;
	__u64 bytes;
};

/* Key of the decap program's `decapaddrs`: the outer destinations it strips. */
struct decap_key {
	__be32 addr[4];
	__u32 family;		/* enum xdpvs_family */
};

/*
 * Key of the decap program's `decapsrcs` (an LPM trie): the outer sources it
 * accepts tunnels from, the directors' addresses. The trie matches prefixlen
 * bits from `family` on, so prefixlen is 32 (the family, matched whole) plus
 * the prefix length of addr; 0.0.0.0/0 and ::/0 accept any source.
 */
struct decap_src_key {
	__u32 prefixlen;
	__u32 family;		/* enum xdpvs_family */
	__be32 addr[4];
};

/* Per-CPU counters of the decap program, by enum decap_reason. */
enum decap_reason {
	DECAP_R_DONE = 0,	/* outer header stripped, inner passed up */
	DECAP_R_PASS = 1,	/* not a tunnel packet to one of our addresses */
	DECAP_R_MALFORMED = 2,	/* truncated outer or inner header: dropped */
	/*
	 * a tunnel packet to one of our addresses from a source outside
	 * `decapsrcs`: dropped, or anyone could reach what listens on the
	 * VIPs behind the host's filters (CVE-2020-10136)
	 */
	DECAP_R_DROP_SOURCE = 3,
	DECAP_R_MAX = 4,
};

#endif /* XDPVS_H */
