// SPDX-License-Identifier: MIT
/*
 * The benchmark's ceiling: the least an XDP forwarder can do on the same
 * path as the director: rewrite the Ethernet destination to a fixed MAC
 * (source: the old destination) and send the frame back out with XDP_TX. No
 * parsing, no lookup: what is left of a mode's pps below this is its own cost.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

struct target {
	__u8 mac[6];
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct target);
} ceiltarget SEC(".maps");

SEC("xdp")
int xdpvs_ceiling(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;
	struct target *t;
	__u32 zero = 0;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	t = bpf_map_lookup_elem(&ceiltarget, &zero);
	if (!t)
		return XDP_DROP;
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, t->mac, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
