/* SPDX-License-Identifier: MIT */
/* Maps of the director program. Layouts come from include/xdpvs.h. */
#ifndef XDPVS_MAPS_H
#define XDPVS_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "include/xdpvs.h"

/* {addr, port, proto, family} -> VIP; port 0 is the all-port VIP. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPVS_MAX_VIPS);
	__type(key, struct vip_key);
	__type(value, struct vip_meta);
} vips SEC(".maps");

/* real id -> real. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPVS_MAX_REALS);
	__type(key, __u32);
	__type(value, struct real_def);
} reals SEC(".maps");

/*
 * One table of real ids per VIP: a Maglev ring (mh/sh/dh) or a weighted
 * round-robin sequence (rr/wrr). BPF_F_INNER_MAP lets each VIP's table have
 * its own length; the agent creates the inner maps.
 */
struct table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, XDPVS_RING_SIZE);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XDPVS_MAX_VIPS);
	__type(key, __u32);
	__array(values, struct table);
} tables SEC(".maps");

/* Per-CPU round-robin cursor of each VIP. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPVS_MAX_VIPS);
	__type(key, __u32);
	__type(value, __u32);
} cursors SEC(".maps");

/*
 * Connection and persistence entries. Each CPU inserts into and evicts from
 * its own share of the entries (no common LRU list, no lock shared between
 * CPUs on a new flow); every CPU finds every entry.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, XDPVS_MAX_FLOWS);
	__type(key, struct flow_key);
	__type(value, struct flow_state);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_settings);
} settings SEC(".maps");

/* The MAC of each interface the program is attached to, keyed by ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDPVS_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct iface_def);
} ifaces SEC(".maps");

/* A direct-mapped copy of `ifaces`, read first (see struct iface_slot). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XDPVS_IFACE_SLOTS);
	__type(key, __u32);
	__type(value, struct iface_slot);
} ifslots SEC(".maps");

/* Egress interfaces of two-armed directors, keyed by ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XDPVS_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} txports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPVS_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct traffic_stats);
} vipstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPVS_MAX_REALS);
	__type(key, __u32);
	__type(value, struct traffic_stats);
} realstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDPVS_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct verdict_stats);
} verdicts SEC(".maps");

#endif /* XDPVS_MAPS_H */
