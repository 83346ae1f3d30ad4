/* A bump allocator for building one DbResponse (or a batch of them): every
 * string and sub-message comes from the arena and is freed at once, so no
 * hand-written free routine has to mirror the message layout. */
#ifndef RS_WORKER_ARENA_H
#define RS_WORKER_ARENA_H

#include <stddef.h>

typedef struct rs_worker_arena_blk rs_worker_arena_blk;

typedef struct rs_worker_arena {
	rs_worker_arena_blk *head;
} rs_worker_arena;

#define RS_WORKER_ARENA_INIT \
	{                    \
		NULL         \
	}

/* Zeroed memory valid until rs_worker_arena_fini; NULL when out of memory. */
void *rs_worker_arena_alloc(rs_worker_arena *a, size_t n);
/* Copy of s (n bytes, NUL added); NULL when out of memory. */
char *rs_worker_arena_strndup(rs_worker_arena *a, const char *s, size_t n);
char *rs_worker_arena_strdup(rs_worker_arena *a, const char *s);
/* Frees everything allocated from a and resets it. */
void rs_worker_arena_fini(rs_worker_arena *a);

#endif
