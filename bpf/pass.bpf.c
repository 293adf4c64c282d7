// SPDX-License-Identifier: MIT
/*
 * Passes every packet. Attached to the far end of a veth pair it makes the
 * kernel run that end in NAPI mode, which is what receives frames another
 * XDP program sends with XDP_TX / XDP_REDIRECT; without it veth drops them.
 * Test topologies, the demo and the bench use it; on physical NICs it is
 * never needed.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdpvs_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
