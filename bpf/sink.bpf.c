// SPDX-License-Identifier: MIT
/*
 * Benchmark sink for a real server's interface: counts every frame (per
 * CPU) and drops it, so the receiving stack is never the bottleneck of a
 * packets-per-second measurement. ARP passes uncounted, so that the
 * director can still resolve the real's MAC.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sinkcount SEC(".maps");

SEC("xdp")
int xdpvs_sink(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;
	__u32 zero = 0;
	__u64 *n;

	if ((void *)(eth + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_ARP))
		return XDP_PASS;
	n = bpf_map_lookup_elem(&sinkcount, &zero);
	if (n)
		(*n)++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
