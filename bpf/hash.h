/* SPDX-License-Identifier: MIT */
/*
 * Flow hash: Bob Jenkins' lookup3 "hashword" over 32-bit words, the same
 * function the kernel calls jhash2(). README.md ("Flow hash") documents the
 * words hashed for each scheduler so that other tools can reproduce it.
 */
#ifndef XDPVS_HASH_H
#define XDPVS_HASH_H

#include <linux/types.h>

enum { XDPVS_HASH_SEED = 0x9e3779b9 };

static __always_inline __u32 rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

#define JHASH_MIX(a, b, c)                    \
	do {                                  \
		a -= c; a ^= rol32(c, 4);  c += b; \
		b -= a; b ^= rol32(a, 6);  a += c; \
		c -= b; c ^= rol32(b, 8);  b += a; \
		a -= c; a ^= rol32(c, 16); c += b; \
		b -= a; b ^= rol32(a, 19); a += c; \
		c -= b; c ^= rol32(b, 4);  b += a; \
	} while (0)

#define JHASH_FINAL(a, b, c)                  \
	do {                                  \
		c ^= b; c -= rol32(b, 14);    \
		a ^= c; a -= rol32(c, 11);    \
		b ^= a; b -= rol32(a, 25);    \
		c ^= b; c -= rol32(b, 16);    \
		a ^= c; a -= rol32(c, 4);     \
		b ^= a; b -= rol32(a, 14);    \
		c ^= b; c -= rol32(b, 24);    \
	} while (0)

/* jhash2 of 4 words (an address). */
static __always_inline __u32 jhash_4words(const __u32 *k, __u32 initval)
{
	__u32 a, b, c;

	a = b = c = 0xdeadbeef + (4 << 2) + initval;
	a += k[0];
	b += k[1];
	c += k[2];
	JHASH_MIX(a, b, c);
	a += k[3];
	JHASH_FINAL(a, b, c);
	return c;
}

/* jhash2 of 10 words (source, destination, ports, protocol). */
static __always_inline __u32 jhash_10words(const __u32 *k, __u32 initval)
{
	__u32 a, b, c;

	a = b = c = 0xdeadbeef + (10 << 2) + initval;
	a += k[0]; b += k[1]; c += k[2];
	JHASH_MIX(a, b, c);
	a += k[3]; b += k[4]; c += k[5];
	JHASH_MIX(a, b, c);
	a += k[6]; b += k[7]; c += k[8];
	JHASH_MIX(a, b, c);
	a += k[9];
	JHASH_FINAL(a, b, c);
	return c;
}

#endif /* XDPVS_HASH_H */
