// SPDX-License-Identifier: MIT
/*
 * Benchmark sink for a real server's interface: counts (per CPU) and drops
 * the benchmark's traffic, so the receiving stack is never the bottleneck of
 * a packets-per-second measurement. The benchmark's traffic is what the
 * director forwards: IPv4 to the VIP (Direct Routing) or IPv4-in-IPv4 (the
 * tunnel). Everything else passes uncounted: ARP, so that the director can
 * resolve the real's MAC, and the real's own traffic, such as the ssh
 * session a bench on separate machines reads this counter through.
 * sinkvip holds the VIP (network byte order); 0 counts nothing.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sinkcount SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sinkvip SEC(".maps");

SEC("xdp")
int xdpvs_sink(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;
	struct iphdr *iph = (void *)(eth + 1);
	__u32 zero = 0;
	__u32 *vip;
	__u64 *n;

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	vip = bpf_map_lookup_elem(&sinkvip, &zero);
	if (!vip || !*vip)
		return XDP_PASS;
	if (iph->protocol != IPPROTO_IPIP && iph->daddr != *vip)
		return XDP_PASS;
	n = bpf_map_lookup_elem(&sinkcount, &zero);
	if (n)
		(*n)++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
