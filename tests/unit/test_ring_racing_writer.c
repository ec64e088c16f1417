// SPDX-License-Identifier: MIT
/*
 * The single-copy rule under a racing writer (STYLE checklist item 3; docs/threat-model.md):
 * the driver may rewrite the ring while the device reads it. A device that checks a
 * descriptor field and then reads it again from guest memory to use it can be made to use a
 * value it never checked. Here a writer thread keeps flipping the fields of a valid posted
 * chain (addresses, lengths, flags, next/id, the avail entry, indirect table entries) between
 * their good values and values far out of range, while the device pops that chain over and
 * over (re-initialised after every pop). Every pop must end in a ring error or in a chain
 * whose every iov entry lies inside guest memory with totals that add up; never a crash
 * (the ASan build sees any read beyond the memory block) or a hang. Split and packed, with
 * and without indirect tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <vireo/spec.h>
#include <vireo/virtqueue.h>
#include <vireo/vring.h>

#include "tests/lib/racy_store.h"
#include "tests/lib/ring_pair.h"
#include "tests/lib/sleep_wake.h"
#include "tests/lib/xorshift.h"

#define RACER_NUM 8u
#define RACER_NS 700000000ull /* per configuration */
#define RACER_IOV 8u

/* One field of the posted chain: where it is and the good value the driver wrote. */
struct racer_field {
	uint8_t *where;
	unsigned int size; /* 2, 4 or 8 */
	uint64_t good;
};

struct racer {
	struct ring_pair *p;
	struct racer_field fields[64];
	unsigned int n_fields;
	atomic_bool stop;
	uint64_t pops, chains, errors;
};

static uint64_t racer_load(const uint8_t *where, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, where, size); /* little-endian host, as the ring */
	return v;
}

static void racer_add_field(struct racer *rc, uint8_t *where, unsigned int size)
{
	assert_true(rc->n_fields < sizeof(rc->fields) / sizeof(rc->fields[0]));
	rc->fields[rc->n_fields++] = (struct racer_field){where, size, racer_load(where, size)};
}

/* Every field of @n 16-byte descriptors at @d (both formats: addr 8, len 4, two 2-byte words). */
static void racer_add_descs(struct racer *rc, uint8_t *d, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, d += 16) {
		racer_add_field(rc, d, 8);
		racer_add_field(rc, d + 8, 4);
		racer_add_field(rc, d + 12, 2);
		racer_add_field(rc, d + 14, 2);
	}
}

/* A value far from @good: outside memory, beyond any table, or random bits. */
static uint64_t racer_bad(const struct racer *rc, const struct racer_field *f, struct xorshift *r)
{
	switch (xorshift_below(r, 3)) {
	case 0:
		return f->size == 8 ? (uint64_t)(uintptr_t)rc->p->mem + rc->p->mem_len + 4096
				    : (f->size == 4 ? 0x7fffffffu : 0xffffu);
	case 1:
		return f->good ^ (1ull << xorshift_below(r, f->size * 8));
	default:
		return xorshift_next(r);
	}
}

static void *racer_writer(void *arg)
{
	struct racer *rc = arg;
	struct xorshift r = {0x2545f4914f6cdd1dull};

	sleep_wake_pin(0);
	while (!atomic_load(&rc->stop)) {
		const struct racer_field *f = &rc->fields[xorshift_below(&r, rc->n_fields)];

		racy_store(f->where, f->size, racer_bad(rc, f, &r));
		/* Bad for a moment, then good again: pops keep finding valid chains. */
		for (unsigned int spin = xorshift_below(&r, 64); spin; spin--)
			__asm__ __volatile__("" ::: "memory");
		racy_store(f->where, f->size, f->good);
	}
	return NULL;
}

/* Every iov entry inside the memory block, counts and totals consistent with @c. */
static bool racer_chain_ok(const struct ring_pair *p, const struct vring_chain *c,
			   const struct vring_iov *iov)
{
	const uint8_t *lo = p->mem, *hi = p->mem + p->mem_len;
	uint64_t bytes[2] = {0, 0};
	unsigned int n = (unsigned int)c->readable + c->writable;

	if (n > RACER_IOV || c->head >= p->num)
		return false;
	for (unsigned int k = 0; k < n; k++) {
		const uint8_t *b = iov[k].base;

		if (iov[k].len == 0 || b < lo || b >= hi || iov[k].len > (size_t)(hi - b))
			return false;
		bytes[k >= c->readable] += iov[k].len;
	}
	return bytes[0] == c->readable_bytes && bytes[1] == c->writable_bytes;
}

static void racer_run(enum ring_pair_format format, bool indirect)
{
	struct racer rc = {.p = ring_pair_new(format, RACER_NUM, true, indirect, false)};
	struct ring_pair *p = rc.p;
	struct virtio_sg sg[3] = {{ring_pair_buf(p, 0), 16},
				  {ring_pair_buf(p, 1), 16},
				  {ring_pair_buf(p, 2) + 8, 32}};
	uint64_t end = sleep_wake_now_ns() + RACER_NS;
	const char *why = NULL;
	pthread_t writer;

	assert_int_equal(virtqueue_add_sgs(&p->vq, sg, 1, 2, (void *)1), 0);
	virtqueue_kick_prepare(&p->vq);
	/* The fields a device reads for this chain; indirect: the table in the pool too. */
	racer_add_descs(&rc, p->mem + p->desc_addr, indirect ? 1 : 3);
	if (indirect)
		racer_add_descs(&rc, p->mem + p->pool_addr, 3);
	if (format == RING_PAIR_SPLIT) {
		racer_add_field(&rc, p->mem + p->driver_addr + 2, 2); /* avail idx */
		racer_add_field(&rc, p->mem + p->driver_addr + 4, 2); /* avail ring[0] */
	}
	assert_int_equal(pthread_create(&writer, NULL, racer_writer, &rc), 0);
	sleep_wake_pin(1);
	while (!why && sleep_wake_now_ns() < end) {
		struct vring_iov iov[RACER_IOV];
		struct vring_chain c;
		int r = p->ops->pop(&p->dev, &c, iov, RACER_IOV);

		rc.pops++;
		if (r == 0)
			rc.chains++;
		else
			rc.errors++;
		if (r == 0 && !racer_chain_ok(p, &c, iov))
			why = "a chain outside guest memory or with wrong totals";
		else if (r != 0 && r != -EPROTO && r != -EAGAIN)
			why = "pop returned neither a chain nor a ring error";
		else if (ring_pair_device_reinit(p) != 0)
			why = "the device did not initialise again";
	}
	atomic_store(&rc.stop, true);
	pthread_join(writer, NULL);
	printf("# %s%s: %llu pops, %llu chains whole, %llu refused%s%s\n", p->ops->name,
	       indirect ? " indirect" : "", (unsigned long long)rc.pops,
	       (unsigned long long)rc.chains, (unsigned long long)rc.errors, why ? ": " : "",
	       why ? why : "");
	assert_null(why);
	assert_true(rc.chains > 0 && rc.errors > 0); /* both outcomes were reached */
	ring_pair_free(p);
}

static void test_split_racing_writer(void **state)
{
	(void)state;
	racer_run(RING_PAIR_SPLIT, false);
}

static void test_split_indirect_racing_writer(void **state)
{
	(void)state;
	racer_run(RING_PAIR_SPLIT, true);
}

static void test_packed_racing_writer(void **state)
{
	(void)state;
	racer_run(RING_PAIR_PACKED, false);
}

static void test_packed_indirect_racing_writer(void **state)
{
	(void)state;
	racer_run(RING_PAIR_PACKED, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_racing_writer),
		cmocka_unit_test(test_split_indirect_racing_writer),
		cmocka_unit_test(test_packed_racing_writer),
		cmocka_unit_test(test_packed_indirect_racing_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
