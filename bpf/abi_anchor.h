/* SPDX-License-Identifier: MIT */
/*
 * Puts every ABI enum into the object's BTF. clang only describes types that
 * some object uses, and enum constants used as values carry no type, so this
 * read-only variable (never read) holds one member of each. User space checks
 * its mirror of the enums against it (test/unit/abi.test.ts).
 */
#ifndef XDPVS_ABI_ANCHOR_H
#define XDPVS_ABI_ANCHOR_H

#include "include/xdpvs.h"

struct xdpvs_abi_enums {
	enum xdpvs_limits limits;
	enum xdpvs_family family;
	enum xdpvs_sched sched;
	enum xdpvs_method method;
	enum xdpvs_vip_flags vip_flags;
	enum xdpvs_real_flags real_flags;
	enum xdpvs_flow_kind flow_kind;
	enum xdpvs_reason reason;
	enum decap_reason decap_reason;
};

const volatile struct xdpvs_abi_enums xdpvs_abi = {};

#endif /* XDPVS_ABI_ANCHOR_H */
