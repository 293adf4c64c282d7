/* SPDX-License-Identifier: MIT */
/*
 * The ICMPv4 header and the message types the director reads or writes.
 * <linux/icmp.h> would do, but it includes <linux/if.h>, which includes
 * glibc's <sys/socket.h>: a BPF object would then need the C library's
 * headers (on amd64, its 32-bit stubs from libc6-dev-i386) for nothing it
 * uses. The layout is RFC 792's.
 */
#ifndef XDPVS_ICMP4_H
#define XDPVS_ICMP4_H

#include <linux/types.h>

enum {
	ICMP_DEST_UNREACH = 3,
	ICMP_TIME_EXCEEDED = 11,
	/* code of ICMP_DEST_UNREACH: fragmentation needed and DF set (RFC 1191) */
	ICMP_FRAG_NEEDED = 4,
};

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		__be32 gateway;
		struct {
			__be16 __unused;
			__be16 mtu;	/* next-hop MTU, RFC 1191 */
		} frag;
	} un;
};

#endif /* XDPVS_ICMP4_H */
