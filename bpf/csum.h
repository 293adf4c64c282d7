/* SPDX-License-Identifier: MIT */
/* Internet checksum (RFC 1071) of an IPv4 header. */
#ifndef XDPVS_CSUM_H
#define XDPVS_CSUM_H

#include <linux/ip.h>

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Checksum of a 20-byte IPv4 header whose check field is zero. */
static __always_inline __u16 ipv4_hdr_csum(struct iphdr *iph)
{
	__u16 *words = (__u16 *)iph;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += words[i];
	return csum_fold(sum);
}

#endif /* XDPVS_CSUM_H */
