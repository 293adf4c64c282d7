// SPDX-License-Identifier: MIT
/*
 * Decapsulation for real servers of a TUN director: strips an outer IPv4
 * (protocol 4 / 41) or IPv6 (next header 4 / 41) header addressed to one of
 * `decapaddrs` and passes the inner packet up the stack, where the VIP is
 * configured on lo, when its outer source is in `decapsrcs` (the directors).
 * For hosts without the ipip / ip6_tunnel modules.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "include/xdpvs.h"
#include "parse.h"
#include "abi_anchor.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPVS_MAX_DECAP_ADDRS);
	__type(key, struct decap_key);
	__type(value, __u32);
} decapaddrs SEC(".maps");

/* Outer sources tunnels are accepted from; empty: none (fail closed). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, XDPVS_MAX_DECAP_SOURCES);
	__type(key, struct decap_src_key);
	__type(value, __u32);
} decapsrcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPVS_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct verdict_stats);
} decapstats SEC(".maps");

static __always_inline int decap_record(int action, __u32 reason, __u64 bytes)
{
	struct verdict_stats *st = bpf_map_lookup_elem(&decapstats, &reason);

	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
	return action;
}

/* outer_len() results besides a header length */
enum {
	OUTER_NOT_OURS = 0,	/* not a tunnel packet for us: pass */
	OUTER_MALFORMED = -1,
	OUTER_BAD_SOURCE = -2,	/* for us, from a source not in decapsrcs */
};

/*
 * Size of the outer header to strip, with *inner set to the inner
 * EtherType; or one of the OUTER_* results. The source is checked before
 * anything else is decided about a tunnel packet for us, fragments included:
 * the kernel must not reassemble and decapsulate what we refuse (its ipip
 * module, when loaded, accepts any source).
 */
static __always_inline int outer_len(struct hdr_cursor *nh, void *data_end,
				     __u16 eth_proto, __be16 *inner)
{
	struct decap_src_key src = {};
	struct decap_key key = {};
	int len, fragment = 0;
	__u8 proto;

	if (eth_proto == ETH_P_IP) {
		struct iphdr *iph = nh->pos;

		if ((void *)(iph + 1) > data_end)
			return OUTER_MALFORMED;
		len = iph->ihl * 4;
		if (iph->version != 4 || len < (int)sizeof(*iph))
			return OUTER_MALFORMED;
		fragment = bpf_ntohs(iph->frag_off) & (IP_MF | IP_OFFSET);
		proto = iph->protocol;
		key.family = XDPVS_AF_INET;
		key.addr[0] = iph->daddr;
		src.prefixlen = 32 + 32;
		src.addr[0] = iph->saddr;
	} else if (eth_proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6h = nh->pos;

		if ((void *)(ip6h + 1) > data_end)
			return OUTER_MALFORMED;
		if (ip6h->version != 6)
			return OUTER_MALFORMED;
		len = sizeof(*ip6h);
		proto = ip6h->nexthdr;
		key.family = XDPVS_AF_INET6;
		__builtin_memcpy(key.addr, &ip6h->daddr, 16);
		src.prefixlen = 32 + 128;
		__builtin_memcpy(src.addr, &ip6h->saddr, 16);
	} else {
		return OUTER_NOT_OURS;
	}
	if (proto == IPPROTO_IPIP)
		*inner = bpf_htons(ETH_P_IP);
	else if (proto == IPPROTO_IPV6)
		*inner = bpf_htons(ETH_P_IPV6);
	else
		return OUTER_NOT_OURS;
	if (!bpf_map_lookup_elem(&decapaddrs, &key))
		return OUTER_NOT_OURS;
	/* the family word is matched whole, then the address prefix */
	src.family = key.family;
	if (!bpf_map_lookup_elem(&decapsrcs, &src))
		return OUTER_BAD_SOURCE;
	/* an allowed fragmented outer packet is left to the kernel */
	if (fragment)
		return OUTER_NOT_OURS;
	return len;
}

SEC("xdp")
int xdpvs_decap(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u64 bytes = data_end - data;
	struct hdr_cursor nh = { .pos = data };
	struct packet pkt = {};
	struct ethhdr eth;
	struct vlan_hdr vlh;
	__u16 eth_proto;
	__be16 inner;
	int len, vlan;
	__u8 *ver;

	if (parse_ethhdr(&nh, data_end, &pkt, &eth_proto) < 0)
		return decap_record(XDP_PASS, DECAP_R_PASS, bytes);
	vlan = pkt.l2_len != sizeof(struct ethhdr);
	len = outer_len(&nh, data_end, eth_proto, &inner);
	if (len == OUTER_NOT_OURS)
		return decap_record(XDP_PASS, DECAP_R_PASS, bytes);
	if (len == OUTER_BAD_SOURCE)
		return decap_record(XDP_DROP, DECAP_R_DROP_SOURCE, bytes);
	if (len < 0 || len > 60)
		return decap_record(XDP_DROP, DECAP_R_MALFORMED, bytes);

	/* the inner header must be there and match the outer protocol */
	ver = nh.pos + len;
	if ((void *)(ver + 1) > data_end)
		return decap_record(XDP_DROP, DECAP_R_MALFORMED, bytes);
	if ((*ver >> 4) != (inner == bpf_htons(ETH_P_IP) ? 4 : 6))
		return decap_record(XDP_DROP, DECAP_R_MALFORMED, bytes);

	/* keep the L2 header, drop the outer IP header, put L2 back in front */
	if ((void *)((struct ethhdr *)data + 1) > data_end)
		return decap_record(XDP_DROP, DECAP_R_MALFORMED, bytes);
	__builtin_memcpy(&eth, data, sizeof(eth));
	if (vlan) {
		if (data + sizeof(eth) + sizeof(vlh) > data_end)
			return decap_record(XDP_DROP, DECAP_R_MALFORMED, bytes);
		__builtin_memcpy(&vlh, data + sizeof(eth), sizeof(vlh));
		vlh.encap_proto = inner;
	} else {
		eth.h_proto = inner;
	}
	if (bpf_xdp_adjust_head(ctx, len))
		return decap_record(XDP_DROP, DECAP_R_MALFORMED, bytes);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (vlan) {
		if (data + sizeof(eth) + sizeof(vlh) > data_end)
			return decap_record(XDP_DROP, DECAP_R_MALFORMED, bytes);
		__builtin_memcpy(data, &eth, sizeof(eth));
		__builtin_memcpy(data + sizeof(eth), &vlh, sizeof(vlh));
	} else {
		if (data + sizeof(eth) > data_end)
			return decap_record(XDP_DROP, DECAP_R_MALFORMED, bytes);
		__builtin_memcpy(data, &eth, sizeof(eth));
	}
	return decap_record(XDP_PASS, DECAP_R_DONE, bytes);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
