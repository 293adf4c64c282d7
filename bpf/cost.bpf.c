// SPDX-License-Identifier: MIT
/*
 * The per-packet cost harness of `make bench`: the director's own code,
 * compiled in as a function, run by BPF_PROG_TEST_RUN with `repeat`.
 *
 * The kernel runs a repeated test on one buffer and never resets it, so
 * from the second run on the director would see its own output (a
 * tunnelled frame, a rewritten MAC) and measure the pass path. Before every
 * run this entry puts the input frame back: the head where it was, the
 * bytes as they were. With `vary_off`, it then writes a counter at that
 * offset (four bytes of the source address), so that every run is a new
 * flow. With `restore_only`, it stops there: the harness's own cost, which
 * the bench subtracts.
 */
#define XDPVS_LB_ENTRY static __noinline int
#define xdpvs_lb xdpvs_lb_body
#include "lb.bpf.c"
#undef xdpvs_lb

#define COST_FRAME_MAX 256

struct cost_frame {
	__u32 len;		/* bytes of data[] that are the input frame */
	__u32 vary_off;		/* 0: the same frame every run; else where the counter goes */
	__u32 restore_only;	/* 1: restore, and return XDP_TX without the director */
	__u32 counter;
	__u8 data[COST_FRAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cost_frame);
} costframe SEC(".maps");

SEC("xdp")
int xdpvs_lb(struct xdp_md *ctx)
{
	__u32 zero = 0, len, off, n;
	struct cost_frame *f = bpf_map_lookup_elem(&costframe, &zero);
	int delta;

	if (!f)
		return XDP_ABORTED;
	len = f->len;
	if (len < ETH_HLEN || len > COST_FRAME_MAX)
		return XDP_ABORTED;
	/* the director only ever grows the head (encapsulation, ICMP) */
	delta = (int)(ctx->data_end - ctx->data) - (int)len;
	if (delta && bpf_xdp_adjust_head(ctx, delta))
		return XDP_ABORTED;
	if (bpf_xdp_store_bytes(ctx, 0, f->data, len))
		return XDP_ABORTED;
	off = f->vary_off;
	if (off) {
		n = f->counter++;
		if (off > COST_FRAME_MAX - 4 || bpf_xdp_store_bytes(ctx, off, &n, 4))
			return XDP_ABORTED;
	}
	if (f->restore_only)
		return XDP_TX;
	return xdpvs_lb_body(ctx);
}
