/* SPDX-License-Identifier: MIT */
/*
 * Forwarding rewrites, done only after the decision: Direct Routing (MAC
 * rewrite) and tunnelling (push an outer IPv4 or IPv6 header, protocol 4 for
 * an IPv4 inner packet and 41 for an IPv6 one, as Linux's ipip/sit/ip6tnl).
 */
#ifndef XDPVS_ENCAP_H
#define XDPVS_ENCAP_H

#include "parse.h"
#include "csum.h"

enum {
	TUN_TTL = 64,
	IPPROTO_IPIP_INNER4 = 4,	/* IPPROTO_IPIP */
	IPPROTO_IPV6_INNER6 = 41,	/* IPPROTO_IPV6 */
};

static __always_inline int mac_is_zero(const __u8 *mac)
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

/* clang has no BPF memcmp: __builtin_memcmp becomes a call libbpf cannot resolve */
static __always_inline int mac_equal(const __u8 *a, const __u8 *b)
{
	return !((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
		 (a[3] ^ b[3]) | (a[4] ^ b[4]) | (a[5] ^ b[5]));
}

/*
 * The frame leaves toward `real`: source = our MAC (the egress's src_mac, else
 * the ingress interface's own, never whatever the frame was sent to),
 * destination = next hop.
 */
static __always_inline void set_macs(struct ethhdr *eth, const struct real_def *real,
				     const __u8 *our_mac)
{
	if (mac_is_zero(real->src_mac))
		__builtin_memcpy(eth->h_source, our_mac, ETH_ALEN);
	else
		__builtin_memcpy(eth->h_source, real->src_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, real->mac, ETH_ALEN);
}

static __always_inline int rewrite_dr(struct xdp_md *ctx, const struct real_def *real,
				      const __u8 *our_mac)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	set_macs(eth, real, our_mac);
	return 0;
}

/*
 * Grow the head by `len` bytes, move the L2 header (14 bytes, or 18 with a
 * VLAN tag) to the new start, set its EtherType to `proto` and return where
 * the outer header goes, with `len` bytes bounds-checked; NULL on failure.
 * Offsets are constants per branch so that the verifier can follow them.
 */
static __always_inline void *push_outer(struct xdp_md *ctx, struct packet *pkt,
					int len, __be16 proto)
{
	const int vlan_l2 = sizeof(struct ethhdr) + sizeof(struct vlan_hdr);
	void *data, *data_end;
	struct vlan_hdr *vlh;
	struct ethhdr *eth;

	if (bpf_xdp_adjust_head(ctx, -len))
		return NULL;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;

	if (pkt->l2_len == vlan_l2) {
		if (data + len + vlan_l2 > data_end)
			return NULL;
		__builtin_memmove(data, data + len, vlan_l2);
		vlh = (void *)(eth + 1);
		vlh->encap_proto = proto;
		return data + vlan_l2;
	}
	if (data + len + sizeof(*eth) > data_end)
		return NULL;
	__builtin_memmove(data, data + len, sizeof(*eth));
	eth->h_proto = proto;
	return data + sizeof(*eth);
}

/* The Ethernet header after push_outer(), for the MAC rewrite. */
static __always_inline struct ethhdr *frame_eth(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
		return NULL;
	return eth;
}

static __always_inline int encap_ipv4(struct xdp_md *ctx, struct packet *pkt,
				      const struct real_def *real,
				      const struct lb_settings *cfg,
				      const __u8 *our_mac)
{
	struct ethhdr *eth;
	struct iphdr *outer;

	outer = push_outer(ctx, pkt, sizeof(*outer), bpf_htons(ETH_P_IP));
	if (!outer)
		return -1;
	outer->version = 4;
	outer->ihl = sizeof(*outer) / 4;
	outer->tos = pkt->tos;
	outer->tot_len = bpf_htons(pkt->ip_len + sizeof(*outer));
	if (pkt->key.family == XDPVS_AF_INET) {
		/* as Linux ipip: the inner DF and identification carry over */
		outer->id = pkt->ip_id;
		outer->frag_off = pkt->df ? bpf_htons(IP_DF) : 0;
		outer->protocol = IPPROTO_IPIP_INNER4;
	} else {
		/* IPv6 is never fragmented on the path: keep DF so PMTUD works */
		outer->id = 0;
		outer->frag_off = bpf_htons(IP_DF);
		outer->protocol = IPPROTO_IPV6_INNER6;
	}
	outer->ttl = TUN_TTL;
	outer->saddr = cfg->tun_src4;
	outer->daddr = real->addr[0];
	outer->check = 0;
	outer->check = ipv4_hdr_csum(outer);

	eth = frame_eth(ctx);
	if (!eth)
		return -1;
	set_macs(eth, real, our_mac);
	return 0;
}

static __always_inline int encap_ipv6(struct xdp_md *ctx, struct packet *pkt,
				      const struct real_def *real,
				      const struct lb_settings *cfg, __u32 hash,
				      const __u8 *our_mac)
{
	struct ethhdr *eth;
	struct ipv6hdr *outer;

	outer = push_outer(ctx, pkt, sizeof(*outer), bpf_htons(ETH_P_IPV6));
	if (!outer)
		return -1;
	outer->version = 6;
	outer->priority = pkt->tos >> 4;
	/* the flow label gives ECMP routers per-flow entropy (RFC 6438) */
	outer->flow_lbl[0] = ((pkt->tos & 0xf) << 4) | ((hash >> 16) & 0xf);
	outer->flow_lbl[1] = (hash >> 8) & 0xff;
	outer->flow_lbl[2] = hash & 0xff;
	outer->payload_len = bpf_htons(pkt->ip_len);
	outer->nexthdr = pkt->key.family == XDPVS_AF_INET ? IPPROTO_IPIP_INNER4
							  : IPPROTO_IPV6_INNER6;
	outer->hop_limit = TUN_TTL;
	__builtin_memcpy(&outer->saddr, cfg->tun_src6, 16);
	__builtin_memcpy(&outer->daddr, real->addr, 16);

	eth = frame_eth(ctx);
	if (!eth)
		return -1;
	set_macs(eth, real, our_mac);
	return 0;
}

#endif /* XDPVS_ENCAP_H */
