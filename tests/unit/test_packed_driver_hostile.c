// SPDX-License-Identifier: MIT
/*
 * ring/packed_driver.c against a hostile device (virtio 1.2 §2.8): used
 * descriptors with IDs out of range, not in flight or reused, lengths beyond
 * what was posted, flags that do not match the wrap counter, IN_ORDER batches
 * out of order: the queue breaks and every later call fails, nothing is read
 * or handed back that the driver did not post. Scripted with tests/lib/packed_rig.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "tests/lib/packed_rig.h"

/* Every later call fails once the device broke the protocol. */
static void assert_broken(struct packed_rig *t)
{
	int tok;
	uint32_t len;

	assert_true(virtqueue_is_broken(&t->vq));
	assert_int_equal(packed_rig_add_in(t, 0, &tok), -EIO);
	assert_null(virtqueue_get_buf(&t->vq, &len));
	assert_false(virtqueue_more_used(&t->vq));
	assert_false(virtqueue_kick_prepare(&t->vq));
	assert_false(virtqueue_notify(&t->vq));
}

enum hostile_kind {
	HOSTILE_ID_RANGE,
	HOSTILE_ID_NOT_IN_FLIGHT,
	HOSTILE_ID_REUSED,
	HOSTILE_LEN_OVER,
	HOSTILE_USED_WITHOUT_AVAIL,
	HOSTILE_WRONG_WRAP,
	HOSTILE_USED_NOTHING_EXPOSED,
	HOSTILE_IN_ORDER_BEHIND,
	HOSTILE_IN_ORDER_NOT_A_HEAD,
	HOSTILE_IN_ORDER_NOT_EXPOSED,
};

/* Three buffers in flight (a chain of 2, then two), then one hostile used descriptor. */
static void hostile_case(enum hostile_kind kind)
{
	bool in_order = kind >= HOSTILE_IN_ORDER_BEHIND;
	struct packed_rig *t = packed_rig_new(5, false, false, in_order);
	struct virtio_sg chain[2] = {{.addr = 0x1000, .len = 8}, {.addr = 0x2000, .len = 8}};
	uint16_t used = packed_rig_used_flags(t, 4);
	int ta, tb, tc;
	struct packed_rig_buf a, b, c;
	uint32_t len;

	if (kind == HOSTILE_USED_NOTHING_EXPOSED) {
		/* §2.8.1: a used descriptor for a buffer added but not yet exposed (no kick) */
		assert_int_equal(packed_rig_add_in(t, 0, &ta), 0);
		packed_rig_device_push_raw(t, 0, 0, used, 1);
		assert_true(virtqueue_more_used(&t->vq));
		assert_null(virtqueue_get_buf(&t->vq, &len));
		assert_broken(t);
		packed_rig_free(t);
		return;
	}
	assert_int_equal(virtqueue_add_sgs(&t->vq, chain, 1, 1, &ta), 0);
	assert_int_equal(packed_rig_add_in(t, 1, &tb), 0);
	assert_int_equal(packed_rig_add_in(t, 2, &tc), 0);
	virtqueue_kick(&t->vq);
	assert_true(packed_rig_device_pop(t, &a));
	assert_true(packed_rig_device_pop(t, &b));
	assert_true(packed_rig_device_pop(t, &c));
	switch (kind) {
	case HOSTILE_ID_RANGE: /* §2.8.3: ID beyond the queue size */
		packed_rig_device_push_raw(t, 5, 4, used, 1);
		break;
	case HOSTILE_ID_NOT_IN_FLIGHT: /* an ID never posted */
		packed_rig_device_push_raw(t, 3, 4, used, 1);
		break;
	case HOSTILE_ID_REUSED: /* the same buffer given back twice */
		packed_rig_device_push(t, b.id, 4);
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tb);
		packed_rig_device_push_raw(t, b.id, 4, packed_rig_used_flags(t, 4), 1);
		break;
	case HOSTILE_LEN_OVER: /* D-SR-11's packed twin: len above the writable bytes */
		packed_rig_device_push_raw(t, a.id, 9, used, 2);
		break;
	case HOSTILE_USED_WITHOUT_AVAIL: /* §2.8.1: used means AVAIL == USED */
		packed_rig_device_push_raw(t, a.id, 4,
					   (uint16_t)(VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE), 2);
		break;
	case HOSTILE_WRONG_WRAP: /* AVAIL == USED but with the other lap's value */
		packed_rig_device_push_raw(t, a.id, 4, VIRTQ_DESC_F_WRITE, 2);
		break;
	case HOSTILE_IN_ORDER_BEHIND: /* IN_ORDER: a batch up to the second buffer, then the first again */
		packed_rig_device_push_raw(t, b.id, 4, used, (uint16_t)(a.descs + b.descs));
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &ta);
		assert_ptr_equal(virtqueue_get_buf(&t->vq, &len), &tb);
		packed_rig_device_push_raw(t, a.id, 4, packed_rig_used_flags(t, 4), 2);
		break;
	case HOSTILE_IN_ORDER_NOT_A_HEAD: /* IN_ORDER: the ID of the chain's second descriptor */
		packed_rig_device_push_raw(t, 1, 4, used, 2);
		(void)c;
		(void)tc;
		break;
	case HOSTILE_IN_ORDER_NOT_EXPOSED: /* IN_ORDER: a batch ending at a buffer not yet exposed */
		assert_int_equal(packed_rig_add_in(t, 3, &tc), 0);
		packed_rig_device_push_raw(t, 4, 4, used, 5);
		break;
	case HOSTILE_USED_NOTHING_EXPOSED:
		break;
	}
	assert_null(virtqueue_get_buf(&t->vq, &len));
	assert_broken(t);
	packed_rig_free(t);
}

static void test_hostile_id_out_of_range(void **state)
{
	(void)state;
	hostile_case(HOSTILE_ID_RANGE);
}

static void test_hostile_id_not_in_flight(void **state)
{
	(void)state;
	hostile_case(HOSTILE_ID_NOT_IN_FLIGHT);
}

static void test_hostile_id_reused(void **state)
{
	(void)state;
	hostile_case(HOSTILE_ID_REUSED);
}

static void test_hostile_len_beyond_posted(void **state)
{
	(void)state;
	hostile_case(HOSTILE_LEN_OVER);
}

static void test_hostile_used_without_avail(void **state)
{
	(void)state;
	hostile_case(HOSTILE_USED_WITHOUT_AVAIL);
}

static void test_hostile_flags_wrong_wrap(void **state)
{
	(void)state;
	hostile_case(HOSTILE_WRONG_WRAP);
}

static void test_hostile_used_nothing_exposed(void **state)
{
	(void)state;
	hostile_case(HOSTILE_USED_NOTHING_EXPOSED);
}

static void test_hostile_in_order_out_of_order(void **state)
{
	(void)state;
	hostile_case(HOSTILE_IN_ORDER_BEHIND);
}

static void test_hostile_in_order_not_a_head(void **state)
{
	(void)state;
	hostile_case(HOSTILE_IN_ORDER_NOT_A_HEAD);
}

static void test_hostile_in_order_not_exposed(void **state)
{
	(void)state;
	hostile_case(HOSTILE_IN_ORDER_NOT_EXPOSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_id_out_of_range),
		cmocka_unit_test(test_hostile_id_not_in_flight),
		cmocka_unit_test(test_hostile_id_reused),
		cmocka_unit_test(test_hostile_len_beyond_posted),
		cmocka_unit_test(test_hostile_used_without_avail),
		cmocka_unit_test(test_hostile_flags_wrong_wrap),
		cmocka_unit_test(test_hostile_used_nothing_exposed),
		cmocka_unit_test(test_hostile_in_order_out_of_order),
		cmocka_unit_test(test_hostile_in_order_not_a_head),
		cmocka_unit_test(test_hostile_in_order_not_exposed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
