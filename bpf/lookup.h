/* SPDX-License-Identifier: MIT */
/*
 * Lookups: which VIP a flow belongs to, and which real serves it, from the
 * flow table (connection, then persistence entry) or the VIP's table.
 */
#ifndef XDPVS_LOOKUP_H
#define XDPVS_LOOKUP_H

#include "maps.h"
#include "parse.h"
#include "hash.h"

/* Flow and persistence entries are refreshed at most this often. */
#define FLOW_REFRESH_NS 1000000000ULL
#define NSEC_PER_SEC 1000000000ULL

/*
 * The clock of last_seen: CLOCK_MONOTONIC_COARSE (one tick's resolution,
 * about 3 ns to read against about 25 for bpf_ktime_get_ns). It never runs
 * ahead of CLOCK_MONOTONIC, which the agent reads ages against: an age the
 * agent computes is at most one tick longer than the true one.
 */
#define flow_clock() bpf_ktime_get_coarse_ns()

/* {addr, port, proto}, then {addr, 0, proto} for an all-port VIP. */
static __always_inline struct vip_meta *find_vip(struct packet *pkt,
						 struct vip_key *vk)
{
	struct vip_meta *vip;

	__builtin_memcpy(vk->addr, pkt->key.dst, sizeof(vk->addr));
	vk->family = pkt->key.family;
	vk->proto = pkt->key.proto;
	vk->port = pkt->key.dport;
	if (pkt->frag != FRAG_LATER) {
		vip = bpf_map_lookup_elem(&vips, vk);
		if (vip)
			return vip;
	}
	vk->port = 0;
	return bpf_map_lookup_elem(&vips, vk);
}

/*
 * The hash each scheduler indexes its ring with; README "Flow hash". Only a
 * new flow, or an IPv6 tunnel's flow label, needs it: an established flow is
 * found by its key.
 */
static __always_inline __u32 flow_hash(const struct packet *pkt, __u32 sched)
{
	__u32 words[10];

	if (sched == XDPVS_SCHED_SH)
		return jhash_4words(pkt->key.src, XDPVS_HASH_SEED);
	if (sched == XDPVS_SCHED_DH)
		return jhash_4words(pkt->key.dst, XDPVS_HASH_SEED);
	__builtin_memcpy(words, pkt->key.src, 16);
	__builtin_memcpy(words + 4, pkt->key.dst, 16);
	words[8] = ((__u32)bpf_ntohs(pkt->key.sport) << 16) | bpf_ntohs(pkt->key.dport);
	words[9] = pkt->key.proto;
	return jhash_10words(words, XDPVS_HASH_SEED);
}

static __always_inline struct real_def *active_real(__u32 real_id)
{
	struct real_def *real;

	if (!real_id)
		return NULL;
	real = bpf_map_lookup_elem(&reals, &real_id);
	if (!real || !(real->flags & XDPVS_REAL_ACTIVE))
		return NULL;
	return real;
}

/* A new flow: the VIP's table at the hashed slot, or the next rr slot. */
static __always_inline __u32 schedule(const struct vip_meta *vip, __u32 hash)
{
	__u32 id = vip->id, size = vip->table_size, idx, *cursor, *real_id;
	void *table;

	if (!size)
		return 0;
	table = bpf_map_lookup_elem(&tables, &id);
	if (!table)
		return 0;
	if (vip->sched == XDPVS_SCHED_RR) {
		cursor = bpf_map_lookup_elem(&cursors, &id);
		if (!cursor)
			return 0;
		idx = *cursor % size;
		*cursor = idx + 1;
	} else {
		idx = hash % size;
	}
	real_id = bpf_map_lookup_elem(table, &idx);
	return real_id ? *real_id : 0;
}

/*
 * How long ago an entry was last seen, 0 when last_seen is ahead of now:
 * another CPU may refresh the entry with its own, later, clock reading
 * between our clock reading and this read, and the unsigned difference
 * would wrap to ~2^64 and expire a live entry.
 */
static __always_inline __u64 entry_age(__u64 now, __u64 last_seen)
{
	return last_seen > now ? 0 : now - last_seen;
}

/*
 * A still-valid entry's real, refreshing last_seen at most once a second
 * (*refreshed then set); NULL when there is none, it expired (timeout_ns >
 * 0) or its real is no longer active. *real_id is the entry's real.
 */
static __always_inline struct real_def *flow_real(struct flow_key *fk, __u64 now,
						  __u64 timeout_ns, int *refreshed,
						  __u32 *real_id)
{
	struct flow_state *st = bpf_map_lookup_elem(&flows, fk);
	struct real_def *real;
	__u64 age;

	if (!st)
		return NULL;
	age = entry_age(now, st->last_seen);
	if (timeout_ns && age > timeout_ns)
		return NULL;
	*real_id = st->real_id;
	real = active_real(*real_id);
	if (!real)
		return NULL;
	/* never backwards: an entry ahead of now is young (age 0) */
	if (age > FLOW_REFRESH_NS) {
		st->last_seen = now;
		*refreshed = 1;
	}
	return real;
}

static __always_inline void flow_store(struct flow_key *fk, __u32 real_id, __u64 now)
{
	struct flow_state st = { .real_id = real_id, .last_seen = now };

	bpf_map_update_elem(&flows, fk, &st, BPF_ANY);
}

/* The client-address key a persistent VIP's clients stick by. */
static __always_inline void persist_key(struct flow_key *pk, const struct packet *pkt,
					const struct vip_key *vk)
{
	__builtin_memcpy(pk->src, pkt->key.src, sizeof(pk->src));
	__builtin_memcpy(pk->dst, vk->addr, sizeof(pk->dst));
	pk->sport = 0;
	pk->dport = vk->port;
	pk->proto = vk->proto;
	pk->family = vk->family;
	pk->kind = XDPVS_FLOW_PERSIST;
	pk->pad = 0;
}

/*
 * The real for this packet: its connection entry; else, on a persistent
 * VIP, the client's persistence entry; else the scheduler, by the flow's
 * hash. A live connection keeps its client's persistence entry alive, as
 * IPVS keeps a template while it controls connections. ICMP errors are
 * steered but never create entries. Sets *real_id, and *is_new when a
 * connection entry was created. NULL when there is no usable real.
 */
static __always_inline struct real_def *choose_real(const struct vip_meta *vip,
						    const struct vip_key *vk,
						    struct packet *pkt, __u32 *real_id,
						    int *is_new)
{
	int persist = vip->flags & XDPVS_VIP_PERSIST;
	__u64 now = flow_clock();
	struct real_def *real;
	struct flow_key pk;
	int refreshed = 0;

	pkt->key.kind = XDPVS_FLOW_CONN;
	real = flow_real(&pkt->key, now, 0, &refreshed, real_id);
	if (real) {
		if (persist && refreshed) {
			persist_key(&pk, pkt, vk);
			flow_store(&pk, *real_id, now);
		}
		return real;
	}

	real = NULL;
	if (persist) {
		persist_key(&pk, pkt, vk);
		real = flow_real(&pk, now, vip->persist_timeout * NSEC_PER_SEC,
				 &refreshed, real_id);
	}
	if (!real) {
		*real_id = schedule(vip, flow_hash(pkt, vip->sched));
		real = active_real(*real_id);
		if (!real)
			return NULL;
		if (persist && !pkt->icmp)
			flow_store(&pk, *real_id, now);
	}
	if (!pkt->icmp) {
		flow_store(&pkt->key, *real_id, now);
		*is_new = 1;
	}
	return real;
}

#endif /* XDPVS_LOOKUP_H */
