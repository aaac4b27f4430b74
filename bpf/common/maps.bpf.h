/* SPDX-License-Identifier: GPL-2.0 */
/* Map helpers every probe shares. */
#ifndef PROBETOP_MAPS_BPF_H
#define PROBETOP_MAPS_BPF_H

#include <bpf/bpf_helpers.h>

#ifndef E2BIG
#define E2BIG 7
#endif
#ifndef EEXIST
#define EEXIST 17
#endif

/* What lookup_or_init() did. */
enum { LOI_FOUND, LOI_CREATED, LOI_FULL, LOI_FAILED };

/*
 * The value at `key`, created from `init` when absent. *how says whether it was found, created
 * by this call (the caller may fill in more), refused because the map is full (the caller counts
 * it: a drop is never silent), or not created for another reason. NULL unless found or created.
 * Another CPU creating the same key at the same time counts as found.
 */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init, int *how)
{
	void *v = bpf_map_lookup_elem(map, key);
	long err;

	*how = LOI_FOUND;
	if (v)
		return v;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	*how = !err ? LOI_CREATED : err == -E2BIG ? LOI_FULL : err == -EEXIST ? LOI_FOUND : LOI_FAILED;
	return bpf_map_lookup_elem(map, key);
}

#endif
