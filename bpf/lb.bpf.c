// SPDX-License-Identifier: MIT
/*
 * xdpvs director: parse -> find VIP -> find or choose real -> forward -> count.
 * Non-VIP traffic (ARP, VRRP, SSH, health-check replies) passes to the kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "include/xdpvs.h"
#include "maps.h"
#include "parse.h"
#include "lookup.h"
#include "encap.h"
#include "icmp.h"
#include "abi_anchor.h"

static __always_inline void count_traffic(void *map, __u32 id, __u64 bytes, int is_new)
{
	struct traffic_stats *st = bpf_map_lookup_elem(map, &id);

	if (!st)
		return;
	st->packets++;
	st->bytes += bytes;
	st->new_flows += is_new;
}

/* The one exit: every packet is counted under the reason for its verdict. */
static __always_inline int record(int action, __u32 reason, __u64 bytes)
{
	struct verdict_stats *st = bpf_map_lookup_elem(&verdicts, &reason);

	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
	return action;
}

/*
 * The packet would exceed the tunnel's MTU once encapsulated: tell the client
 * the MTU it may use (XDP_TX of the ICMP reply), or drop when no ICMP is due.
 */
static __always_inline int too_big(struct xdp_md *ctx, struct packet *pkt,
				   __u32 mtu, __u32 *reason)
{
	int err;

	*reason = XDPVS_R_DROP_TOO_BIG;
	/* never an ICMP error about an ICMP error (RFC 1122 3.2.2, RFC 4443 2.4) */
	if (pkt->icmp || pkt->ip_len < XDPVS_ICMP_QUOTE)
		return XDP_DROP;
	if (pkt->key.family == XDPVS_AF_INET) {
		/* without DF IPVS would fragment the outer packet; XDP cannot */
		if (!pkt->df)
			return XDP_DROP;
		err = frag_needed4(ctx, pkt, mtu);
	} else {
		err = packet_too_big6(ctx, pkt, mtu);
	}
	if (err)
		return XDP_DROP;
	*reason = XDPVS_R_TOO_BIG;
	return XDP_TX;
}

/*
 * The ingress interface's MAC when the frame is addressed to it; NULL with
 * the verdict in *action otherwise. A frame to broadcast or multicast, or
 * another host's frame seen in promiscuous mode, is not ours to forward: its
 * destination is no MAC of ours to send from, and every host on the segment
 * would forward its copy.
 */
static __always_inline const __u8 *ingress_mac(struct xdp_md *ctx, int *action, __u32 *reason)
{
	__u32 ifindex = ctx->ingress_ifindex;
	__u32 slot = ifindex & (XDPVS_IFACE_SLOTS - 1);
	struct iface_slot *fast = bpf_map_lookup_elem(&ifslots, &slot);
	struct ethhdr *eth = frame_eth(ctx);
	struct iface_def *iface;
	const __u8 *mac;

	if (fast && fast->ifindex == ifindex) {
		mac = fast->mac;
	} else {
		iface = bpf_map_lookup_elem(&ifaces, &ifindex);
		if (!iface) {
			/* the agent writes the entry before attaching: a loader forgot it */
			*action = XDP_DROP;
			*reason = XDPVS_R_DROP_CONFIG;
			return NULL;
		}
		mac = iface->mac;
	}
	if (!eth || !mac_equal(eth->h_dest, mac)) {
		*action = XDP_PASS;
		*reason = XDPVS_R_PASS_NOT_LOCAL;
		return NULL;
	}
	return mac;
}

static __always_inline int forward(struct xdp_md *ctx, struct packet *pkt,
				   const struct real_def *real, __u32 sched,
				   const __u8 *our_mac, __u32 *reason)
{
	const __u32 zero = 0;
	struct lb_settings *cfg;
	__u32 overhead;
	int err, action;

	if (real->method == XDPVS_FWD_DR) {
		*reason = XDPVS_R_FWD_DR;
		err = rewrite_dr(ctx, real, our_mac);
	} else {
		*reason = XDPVS_R_FWD_TUN;
		cfg = bpf_map_lookup_elem(&settings, &zero);
		if (!cfg) {
			*reason = XDPVS_R_DROP_CONFIG;
			return XDP_DROP;
		}
		overhead = real->family == XDPVS_AF_INET ? sizeof(struct iphdr)
							 : sizeof(struct ipv6hdr);
		if (real->mtu && pkt->ip_len + overhead > real->mtu)
			return too_big(ctx, pkt, real->mtu - overhead, reason);
		if (real->family == XDPVS_AF_INET) {
			if (!cfg->tun_src4)
				goto no_source;
			err = encap_ipv4(ctx, pkt, real, cfg, our_mac);
		} else {
			if (!(cfg->tun_src6[0] | cfg->tun_src6[1] |
			      cfg->tun_src6[2] | cfg->tun_src6[3]))
				goto no_source;
			err = encap_ipv6(ctx, pkt, real, cfg, flow_hash(pkt, sched), our_mac);
		}
	}
	if (err) {
		*reason = XDPVS_R_DROP_ENCAP;
		return XDP_DROP;
	}
	if (!real->ifindex)
		return XDP_TX;
	action = bpf_redirect_map(&txports, real->ifindex, XDP_DROP);
	if (action == XDP_DROP)
		*reason = XDPVS_R_DROP_CONFIG;	/* egress missing from txports */
	return action;

no_source:
	/* no outer source address configured for this family */
	*reason = XDPVS_R_DROP_CONFIG;
	return XDP_DROP;
}

/*
 * The entry point. bpf/cost.bpf.c includes this file with XDPVS_LB_ENTRY
 * defined, to call the same code as a function after restoring its input.
 */
#ifndef XDPVS_LB_ENTRY
#define XDPVS_LB_ENTRY SEC("xdp") int
#endif

XDPVS_LB_ENTRY xdpvs_lb(struct xdp_md *ctx)
{
	__u64 bytes = ctx->data_end - ctx->data;
	struct packet pkt = {};
	struct vip_key vk = {};
	struct vip_meta *vip;
	struct real_def *real;
	const __u8 *our_mac;
	__u32 real_id = 0, reason;
	int action, is_new = 0;

	action = parse_packet(ctx, &pkt);
	if (action != LB_CONTINUE)
		return record(action, pkt.reason, bytes);

	vip = find_vip(&pkt, &vk);
	if (!vip) {
		if (pkt.icmp)
			return record(XDP_PASS, XDPVS_R_PASS_ICMP, bytes);
		if (pkt.frag == FRAG_LATER)
			return record(XDP_PASS, XDPVS_R_PASS_FRAGMENT, bytes);
		return record(XDP_PASS, XDPVS_R_PASS_NOT_VIP, bytes);
	}
	/* before any entry is made: a frame not for us leaves no state */
	our_mac = ingress_mac(ctx, &action, &reason);
	if (!our_mac)
		return record(action, reason, bytes);
	if (pkt.frag != FRAG_NONE)
		return record(XDP_DROP, XDPVS_R_DROP_FRAGMENT, bytes);

	real = choose_real(vip, &vk, &pkt, &real_id, &is_new);
	if (!real)
		return record(XDP_DROP, XDPVS_R_DROP_NO_REAL, bytes);

	action = forward(ctx, &pkt, real, vip->sched, our_mac, &reason);
	if (reason == XDPVS_R_FWD_DR || reason == XDPVS_R_FWD_TUN) {
		count_traffic(&vipstats, vip->id, bytes, is_new);
		count_traffic(&realstats, real_id, bytes, is_new);
	}
	return record(action, reason, bytes);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
