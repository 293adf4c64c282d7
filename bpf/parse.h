/* SPDX-License-Identifier: MIT */
/*
 * Packet parsing for the director: Ethernet (one 802.1Q/802.1ad tag), IPv4
 * (options allowed), IPv6 (hop-by-hop, routing, destination-options and
 * fragment headers skipped), TCP/UDP ports, and the flow quoted by an ICMP or
 * ICMPv6 error. One helper per header, the bounds check next to the access.
 * Parsing never writes to the packet.
 */
#ifndef XDPVS_PARSE_H
#define XDPVS_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include "icmp4.h"
#include <linux/icmpv6.h>
#include <bpf/bpf_endian.h>
#include "include/xdpvs.h"

/* A stage returns an XDP action to stop, or LB_CONTINUE to go on. */
#define LB_CONTINUE -1

/* IPv6 extension headers skipped before the transport header. */
#define IPV6_MAX_EXT_HDRS 4

#define IP_MF 0x2000

/*
 * A big-endian 16-bit length field, with bounds the verifier can see: the
 * verifier of Linux 6.1 (Debian 12's kernel) forgets the range of a byte
 * swap and then refuses packet-pointer arithmetic with the result (newer
 * ones track it). The barrier keeps the compiler from dropping the mask it
 * knows to be redundant.
 */
static __always_inline __u32 be16_len(__be16 field)
{
	__u32 v = bpf_ntohs(field);

	barrier_var(v);
	return v & 0xffff;
}
#define IP_DF 0x4000
#define IP_OFFSET 0x1fff

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* RFC 8200 section 4.5; not in the UAPI headers */
struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

struct hdr_cursor {
	void *pos;
};

enum frag_kind {
	FRAG_NONE = 0,
	FRAG_FIRST = 1,		/* carries the transport header */
	FRAG_LATER = 2,		/* does not */
};

/* What parsing learnt; the key is always in the client -> VIP direction. */
struct packet {
	struct flow_key key;
	__u32 l2_len;		/* 14, or 18 with a VLAN tag */
	__u32 ip_len;		/* IP packet length per its header: Ethernet padding excluded */
	__be16 ip_id;		/* IPv4 identification, copied to an outer IPv4 header */
	__u8 tos;		/* IPv4 TOS / IPv6 traffic class */
	__u8 df;		/* IPv4 DF bit set */
	__u8 frag;		/* enum frag_kind */
	__u8 icmp;		/* 1: ICMP message, 2: ICMP error whose quoted flow is in key */
	__u8 reason;		/* enum xdpvs_reason, when parsing decides the verdict */
	__u8 pad;
};

enum { ICMP_OTHER = 1, ICMP_QUOTED = 2 };

static __always_inline int parse_stop(struct packet *pkt, int action, int reason)
{
	pkt->reason = reason;
	return action;
}

static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end,
					struct packet *pkt, __u16 *proto)
{
	struct ethhdr *eth = nh->pos;
	struct vlan_hdr *vlh;

	if ((void *)(eth + 1) > data_end)
		return -1;
	nh->pos = eth + 1;
	pkt->l2_len = sizeof(*eth);
	*proto = bpf_ntohs(eth->h_proto);
	if (*proto != ETH_P_8021Q && *proto != ETH_P_8021AD)
		return 0;

	vlh = nh->pos;
	if ((void *)(vlh + 1) > data_end)
		return -1;
	nh->pos = vlh + 1;
	pkt->l2_len += sizeof(*vlh);
	*proto = bpf_ntohs(vlh->encap_proto);
	return 0;
}

/* Returns the transport protocol, or -1 when the header is malformed. */
static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end,
				       struct packet *pkt)
{
	struct iphdr *iph = nh->pos;
	__u32 hdrsize, tot_len;
	__u16 frag_off;

	if ((void *)(iph + 1) > data_end)
		return -1;
	if (iph->version != 4)
		return -1;
	hdrsize = iph->ihl * 4;
	if (hdrsize < sizeof(*iph))
		return -1;
	if (nh->pos + hdrsize > data_end)
		return -1;
	tot_len = be16_len(iph->tot_len);
	if (tot_len < hdrsize || nh->pos + tot_len > data_end)
		return -1;

	frag_off = bpf_ntohs(iph->frag_off);
	if (frag_off & IP_OFFSET)
		pkt->frag = FRAG_LATER;
	else if (frag_off & IP_MF)
		pkt->frag = FRAG_FIRST;
	pkt->df = !!(frag_off & IP_DF);
	pkt->ip_id = iph->id;
	pkt->tos = iph->tos;
	pkt->ip_len = tot_len;
	pkt->key.family = XDPVS_AF_INET;
	pkt->key.src[0] = iph->saddr;
	pkt->key.dst[0] = iph->daddr;
	pkt->key.proto = iph->protocol;
	nh->pos += hdrsize;
	return iph->protocol;
}

static __always_inline int parse_ipv6hdr(struct hdr_cursor *nh, void *data_end,
					 struct packet *pkt)
{
	struct ipv6hdr *ip6h = nh->pos;
	struct ipv6_opt_hdr *opt;
	struct ipv6_frag_hdr *fh;
	__u32 payload_len;
	__u8 nexthdr;

	if ((void *)(ip6h + 1) > data_end)
		return -1;
	if (ip6h->version != 6)
		return -1;
	payload_len = be16_len(ip6h->payload_len);
	if (nh->pos + sizeof(*ip6h) + payload_len > data_end)
		return -1;

	pkt->ip_len = sizeof(*ip6h) + payload_len;
	pkt->tos = (ip6h->priority << 4) | (ip6h->flow_lbl[0] >> 4);
	pkt->key.family = XDPVS_AF_INET6;
	__builtin_memcpy(pkt->key.src, &ip6h->saddr, 16);
	__builtin_memcpy(pkt->key.dst, &ip6h->daddr, 16);
	nexthdr = ip6h->nexthdr;
	nh->pos = ip6h + 1;

#pragma unroll
	for (int i = 0; i < IPV6_MAX_EXT_HDRS; i++) {
		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			opt = nh->pos;
			if ((void *)(opt + 1) > data_end)
				return -1;
			nexthdr = opt->nexthdr;
			nh->pos += (opt->hdrlen + 1) * 8;
			break;
		case IPPROTO_FRAGMENT:
			fh = nh->pos;
			if ((void *)(fh + 1) > data_end)
				return -1;
			nexthdr = fh->nexthdr;
			nh->pos = fh + 1;
			/* frag_off: offset in the top 13 bits, M flag in bit 0 */
			if (bpf_ntohs(fh->frag_off) & ~7)
				pkt->frag = FRAG_LATER;
			else
				pkt->frag = FRAG_FIRST;
			break;
		default:
			goto done;
		}
	}
done:
	pkt->key.proto = nexthdr;
	return nexthdr;
}

/* Ports of a TCP or UDP header; -1 when it is truncated or inconsistent. */
static __always_inline int parse_ports(struct hdr_cursor *nh, void *data_end,
				       struct packet *pkt, int proto, void *ip_end)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcph = nh->pos;

		if ((void *)(tcph + 1) > data_end)
			return -1;
		if (tcph->doff < 5 || nh->pos + tcph->doff * 4 > ip_end)
			return -1;
		pkt->key.sport = tcph->source;
		pkt->key.dport = tcph->dest;
		return 0;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *udph = nh->pos;
		__u32 len;

		if ((void *)(udph + 1) > data_end)
			return -1;
		len = be16_len(udph->len);
		/* a first fragment holds only part of the datagram */
		if (len < sizeof(*udph) ||
		    (pkt->frag == FRAG_NONE && nh->pos + len != ip_end))
			return -1;
		pkt->key.sport = udph->source;
		pkt->key.dport = udph->dest;
		return 0;
	}
	return 0;
}

/*
 * The 8 bytes of transport header quoted by an ICMP error hold the ports of
 * the packet the real sent (VIP -> client); the flow is its reverse.
 * Returns 0 and fills pkt->key, or -1 when the quote is too short to use.
 */
static __always_inline int parse_quoted_ports(void *pos, void *data_end,
					      struct packet *pkt)
{
	__be16 *ports = pos;

	if ((void *)(ports + 2) > data_end)
		return -1;
	pkt->key.sport = ports[1];
	pkt->key.dport = ports[0];
	return 0;
}

static __always_inline int parse_icmp(struct hdr_cursor *nh, void *data_end,
				      struct packet *pkt)
{
	struct icmphdr *icmph = nh->pos;
	struct iphdr *iph;
	__u32 hdrsize;

	pkt->icmp = ICMP_OTHER;
	if ((void *)(icmph + 1) > data_end)
		return -1;
	if (icmph->type != ICMP_DEST_UNREACH && icmph->type != ICMP_TIME_EXCEEDED)
		return 0;

	iph = (void *)(icmph + 1);
	if ((void *)(iph + 1) > data_end)
		return 0;
	hdrsize = iph->ihl * 4;
	if (iph->version != 4 || hdrsize < sizeof(*iph))
		return 0;
	if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
		return 0;
	if (parse_quoted_ports((void *)iph + hdrsize, data_end, pkt))
		return 0;
	pkt->key.src[0] = iph->daddr;
	pkt->key.dst[0] = iph->saddr;
	pkt->key.proto = iph->protocol;
	pkt->icmp = ICMP_QUOTED;
	return 0;
}

static __always_inline int parse_icmp6(struct hdr_cursor *nh, void *data_end,
				       struct packet *pkt)
{
	struct icmp6hdr *icmp6h = nh->pos;
	struct ipv6hdr *ip6h;

	pkt->icmp = ICMP_OTHER;
	if ((void *)(icmp6h + 1) > data_end)
		return -1;
	if (icmp6h->icmp6_type != ICMPV6_DEST_UNREACH &&
	    icmp6h->icmp6_type != ICMPV6_PKT_TOOBIG &&
	    icmp6h->icmp6_type != ICMPV6_TIME_EXCEED)
		return 0;

	ip6h = (void *)(icmp6h + 1);
	if ((void *)(ip6h + 1) > data_end)
		return 0;
	if (ip6h->version != 6)
		return 0;
	if (ip6h->nexthdr != IPPROTO_TCP && ip6h->nexthdr != IPPROTO_UDP)
		return 0;
	if (parse_quoted_ports(ip6h + 1, data_end, pkt))
		return 0;
	__builtin_memcpy(pkt->key.src, &ip6h->daddr, 16);
	__builtin_memcpy(pkt->key.dst, &ip6h->saddr, 16);
	pkt->key.proto = ip6h->nexthdr;
	pkt->icmp = ICMP_QUOTED;
	return 0;
}

/*
 * Fills pkt. LB_CONTINUE: pkt->key names a TCP/UDP flow (possibly quoted by
 * an ICMP error, possibly a fragment) to look up as a VIP flow. Otherwise the
 * verdict, with pkt->reason set.
 */
static __always_inline int parse_packet(struct xdp_md *ctx, struct packet *pkt)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	void *ip_start, *ip_end;
	__u16 eth_proto;
	int proto;

	if (parse_ethhdr(&nh, data_end, pkt, &eth_proto) < 0)
		return parse_stop(pkt, XDP_DROP, XDPVS_R_DROP_MALFORMED);

	ip_start = nh.pos;
	if (eth_proto == ETH_P_IP)
		proto = parse_iphdr(&nh, data_end, pkt);
	else if (eth_proto == ETH_P_IPV6)
		proto = parse_ipv6hdr(&nh, data_end, pkt);
	else
		return parse_stop(pkt, XDP_PASS, XDPVS_R_PASS_NOT_IP);
	if (proto < 0)
		return parse_stop(pkt, XDP_DROP, XDPVS_R_DROP_MALFORMED);
	/* the mask restates the bound (ip_len < 2^17) for the verifier */
	ip_end = ip_start + (pkt->ip_len & 0x1ffff);

	if (pkt->frag == FRAG_LATER) {
		if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
			return parse_stop(pkt, XDP_PASS, XDPVS_R_PASS_FRAGMENT);
		return LB_CONTINUE;
	}

	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (parse_ports(&nh, data_end, pkt, proto, ip_end) < 0)
			return parse_stop(pkt, XDP_DROP, XDPVS_R_DROP_MALFORMED);
		return LB_CONTINUE;
	case IPPROTO_ICMP:
		if (eth_proto != ETH_P_IP || parse_icmp(&nh, data_end, pkt) < 0)
			return parse_stop(pkt, XDP_DROP, XDPVS_R_DROP_MALFORMED);
		break;
	case IPPROTO_ICMPV6:
		if (eth_proto != ETH_P_IPV6 || parse_icmp6(&nh, data_end, pkt) < 0)
			return parse_stop(pkt, XDP_DROP, XDPVS_R_DROP_MALFORMED);
		break;
	default:
		return parse_stop(pkt, XDP_PASS, XDPVS_R_PASS_NOT_VIP);
	}
	if (pkt->icmp == ICMP_QUOTED && pkt->frag == FRAG_NONE)
		return LB_CONTINUE;
	return parse_stop(pkt, XDP_PASS, XDPVS_R_PASS_ICMP);
}

#endif /* XDPVS_PARSE_H */
