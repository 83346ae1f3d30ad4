#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLK_SIZE 4096

struct rs_worker_arena_blk {
	rs_worker_arena_blk *next;
	size_t used;
	size_t cap;
	_Alignas(16) unsigned char data[];
};

void *
rs_worker_arena_alloc(rs_worker_arena *a, size_t n)
{
	rs_worker_arena_blk *b = a->head;
	size_t need = (n + 15) & ~(size_t) 15;

	if (need < n)
		return NULL;
	if (b == NULL || b->cap - b->used < need) {
		size_t cap = need > BLK_SIZE ? need : BLK_SIZE;
		if (cap > SIZE_MAX - sizeof(*b))
			return NULL;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		if (a->head != NULL && need > BLK_SIZE) {
			/* A big one-off block goes behind the current one so
			 * the current block's free space stays usable. */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	void *p = b->data + b->used;
	b->used += need;
	memset(p, 0, n);
	return p;
}

char *
rs_worker_arena_strndup(rs_worker_arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = rs_worker_arena_alloc(a, n + 1);
	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *
rs_worker_arena_strdup(rs_worker_arena *a, const char *s)
{
	return rs_worker_arena_strndup(a, s, strlen(s));
}

void
rs_worker_arena_fini(rs_worker_arena *a)
{
	rs_worker_arena_blk *b = a->head;
	while (b != NULL) {
		rs_worker_arena_blk *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
}
