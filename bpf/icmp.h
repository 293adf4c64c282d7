/* SPDX-License-Identifier: MIT */
/*
 * ICMP "fragmentation needed" (IPv4, type 3 code 4) and ICMPv6 "packet too
 * big" (type 2) for a packet that would exceed the tunnel's MTU once
 * encapsulated: XDP cannot fragment, so the client learns the smaller path
 * MTU and sends smaller packets, as IPVS makes it do. The reply is built in
 * place from the offending frame and goes back out the ingress (XDP_TX):
 *   L2 (MACs swapped, VLAN tag kept) | IP VIP -> client | ICMP | the first
 *   XDPVS_ICMP_QUOTE bytes of the offending IP packet
 */
#ifndef XDPVS_ICMP_H
#define XDPVS_ICMP_H

#include "icmp4.h"
#include <linux/icmpv6.h>
#include "encap.h"

enum {
	ICMP_REPLY_TTL = 64,
	/* IPTOS_PREC_INTERNETCONTROL, as Linux sends its own ICMP */
	ICMP_REPLY_TOS = 0xc0,
	ICMP_REPLY4_HDRS = sizeof(struct iphdr) + sizeof(struct icmphdr),
	ICMP_REPLY6_HDRS = sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr),
};

/* Cuts the frame to `len` bytes. */
static __always_inline int trim_to(struct xdp_md *ctx, __u32 len)
{
	__u32 cur = ctx->data_end - ctx->data;

	if (cur < len)
		return -1;
	return bpf_xdp_adjust_tail(ctx, -(int)(cur - len));
}

/*
 * The L3 header after the (14- or 18-byte) L2 header, with `len` bytes
 * bounds-checked; constant offsets per branch, as push_outer().
 */
static __always_inline void *frame_l3(struct xdp_md *ctx, const struct packet *pkt, __u32 len)
{
	const int vlan_l2 = sizeof(struct ethhdr) + sizeof(struct vlan_hdr);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (pkt->l2_len == vlan_l2) {
		if (data + vlan_l2 + len > data_end)
			return NULL;
		return data + vlan_l2;
	}
	if (data + sizeof(struct ethhdr) + len > data_end)
		return NULL;
	return data + sizeof(struct ethhdr);
}

static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/*
 * Turns the frame into a reply toward the client: `hdrs` bytes of new L3/ICMP
 * headers in front of its IP packet, cut to the quote, MACs swapped (the
 * L2 header and its VLAN tag stay). Returns the new L3 header with
 * hdrs + XDPVS_ICMP_QUOTE bytes bounds-checked; NULL on failure.
 */
static __always_inline void *reply_frame(struct xdp_md *ctx, struct packet *pkt,
					 __u32 hdrs, __be16 proto)
{
	struct ethhdr *eth;

	if (!push_outer(ctx, pkt, hdrs, proto) ||
	    trim_to(ctx, pkt->l2_len + hdrs + XDPVS_ICMP_QUOTE))
		return NULL;
	/* both moved: find them again */
	eth = frame_eth(ctx);
	if (!eth)
		return NULL;
	swap_macs(eth);
	return frame_l3(ctx, pkt, hdrs + XDPVS_ICMP_QUOTE);
}

/* IPv4 frag-needed quoting the packet; `mtu` is the next-hop MTU it reports. */
static __always_inline int frag_needed4(struct xdp_md *ctx, struct packet *pkt, __u16 mtu)
{
	const __u32 len = ICMP_REPLY4_HDRS + XDPVS_ICMP_QUOTE;
	struct icmphdr *icmph;
	struct iphdr *iph;
	__s64 sum;

	iph = reply_frame(ctx, pkt, ICMP_REPLY4_HDRS, bpf_htons(ETH_P_IP));
	if (!iph)
		return -1;

	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tos = ICMP_REPLY_TOS;
	iph->tot_len = bpf_htons(len);
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = ICMP_REPLY_TTL;
	iph->protocol = IPPROTO_ICMP;
	iph->saddr = pkt->key.dst[0];	/* the VIP */
	iph->daddr = pkt->key.src[0];	/* the client */
	iph->check = 0;
	iph->check = ipv4_hdr_csum(iph);

	icmph = (void *)(iph + 1);
	icmph->type = ICMP_DEST_UNREACH;
	icmph->code = ICMP_FRAG_NEEDED;
	icmph->checksum = 0;
	icmph->un.frag.__unused = 0;
	icmph->un.frag.mtu = bpf_htons(mtu);
	sum = bpf_csum_diff(0, 0, (void *)icmph, sizeof(*icmph) + XDPVS_ICMP_QUOTE, 0);
	if (sum < 0)
		return -1;
	icmph->checksum = csum_fold((__u32)sum);
	return 0;
}

/* ICMPv6 packet-too-big quoting the packet; `mtu` is the MTU it reports. */
static __always_inline int packet_too_big6(struct xdp_md *ctx, struct packet *pkt, __u32 mtu)
{
	const __u32 icmp_len = sizeof(struct icmp6hdr) + XDPVS_ICMP_QUOTE;
	struct icmp6hdr *icmp6h;
	struct ipv6hdr *ip6h;
	__u32 pseudo[2];
	__s64 sum;

	ip6h = reply_frame(ctx, pkt, ICMP_REPLY6_HDRS, bpf_htons(ETH_P_IPV6));
	if (!ip6h)
		return -1;

	ip6h->version = 6;
	ip6h->priority = 0;
	ip6h->flow_lbl[0] = 0;
	ip6h->flow_lbl[1] = 0;
	ip6h->flow_lbl[2] = 0;
	ip6h->payload_len = bpf_htons(icmp_len);
	ip6h->nexthdr = IPPROTO_ICMPV6;
	ip6h->hop_limit = ICMP_REPLY_TTL;
	__builtin_memcpy(&ip6h->saddr, pkt->key.dst, 16);	/* the VIP */
	__builtin_memcpy(&ip6h->daddr, pkt->key.src, 16);	/* the client */

	icmp6h = (void *)(ip6h + 1);
	icmp6h->icmp6_type = ICMPV6_PKT_TOOBIG;
	icmp6h->icmp6_code = 0;
	icmp6h->icmp6_cksum = 0;
	icmp6h->icmp6_mtu = bpf_htonl(mtu);
	/* pseudo-header (RFC 8200 8.1): addresses, upper-layer length, next header */
	pseudo[0] = bpf_htonl(icmp_len);
	pseudo[1] = bpf_htonl(IPPROTO_ICMPV6);
	sum = bpf_csum_diff(0, 0, (void *)&ip6h->saddr, 32, 0);
	if (sum < 0)
		return -1;
	sum = bpf_csum_diff(0, 0, pseudo, sizeof(pseudo), (__u32)sum);
	if (sum < 0)
		return -1;
	sum = bpf_csum_diff(0, 0, (void *)icmp6h, icmp_len, (__u32)sum);
	if (sum < 0)
		return -1;
	icmp6h->icmp6_cksum = csum_fold((__u32)sum);
	return 0;
}

#endif /* XDPVS_ICMP_H */
