// SPDX-License-Identifier: MIT
/*
 * The single-copy rule for virtio-blk requests under a racing driver (STYLE checklist item
 * 3; docs/threat-model.md): the request header and the DISCARD / WRITE_ZEROES segments are
 * guest memory the driver may rewrite while the device parses them. A device that checks the
 * sector and then reads it again to do the I/O can be made to write where it never checked.
 * Here a writer thread keeps toggling the type, the sector and the segment fields of two
 * posted requests (a 4 KiB write, a write-zeroes), one field at a time, between their good
 * values and bad ones (beyond the disk's end, unknown types and flags) while the device
 * serves them over and over. Every request must be answered OK, IOERR or UNSUPP, and afterwards the image must
 * have its size and hold only what the good requests could have written: the pattern, the
 * written data in the write's range, zeroes in the write-zeroes range.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vireo/spec.h>

#include "tests/lib/blk_harness.h"
#include "tests/lib/racy_store.h"
#include "tests/lib/sleep_wake.h"
#include "tests/lib/xorshift.h"

#define RACE_NS 1000000000ull
#define RACE_WRITE_SECTOR 16u
#define RACE_WRITE_LEN 4096u
#define RACE_ZERO_SECTOR 64u
#define RACE_ZERO_SECTORS 8u
#define RACE_DATA 0xa5 /* as segments: reserved flag bits set, so never a valid range */

/* One field the writer flips: where, how wide, its good value and the bad ones. */
struct blk_racer_field {
	uint8_t *where;
	unsigned int size; /* 4 or 8 */
	uint64_t good;
	uint64_t bad[4];
};

struct blk_racer {
	struct blk_racer_field fields[8];
	unsigned int n_fields;
	atomic_bool stop;
};

static void *blk_racer_writer(void *arg)
{
	struct blk_racer *rc = arg;
	struct xorshift r = {0x853c49e6748fea9bull};

	sleep_wake_pin(0);
	while (!atomic_load(&rc->stop)) {
		const struct blk_racer_field *f = &rc->fields[xorshift_below(&r, rc->n_fields)];

		uint64_t bad = f->bad[xorshift_below(&r, 4)];

		/* Toggle one field fast for a while: a check and a second read of it in between
		 * see different values often enough; good last, so requests keep succeeding. */
		for (unsigned int k = 0; k < 64; k++) {
			racy_store(f->where, f->size, bad);
			racy_store(f->where, f->size, f->good);
		}
	}
	return NULL;
}

static void blk_racer_field(struct blk_racer *rc, void *where, unsigned int size, uint64_t good,
			    uint64_t b0, uint64_t b1, uint64_t b2, uint64_t b3)
{
	assert_true(rc->n_fields < sizeof(rc->fields) / sizeof(rc->fields[0]));
	rc->fields[rc->n_fields++] = (struct blk_racer_field){where, size, good, {b0, b1, b2, b3}};
}

/* Bytes a good request may have left at image offset @off. */
static bool blk_racer_byte_ok(size_t off, uint8_t b)
{
	size_t w = RACE_WRITE_SECTOR * 512u, z = RACE_ZERO_SECTOR * 512u;

	if (b == blk_harness_pattern(off))
		return true;
	if (off >= w && off < w + RACE_WRITE_LEN)
		return b == RACE_DATA;
	if (off >= z && off < z + RACE_ZERO_SECTORS * 512u)
		return b == 0;
	return false;
}

static void test_header_and_segments_raced(void **state)
{
	const uint64_t end = BLK_HARNESS_IMG_SECTORS;
	struct vireo_blk_discard_write_zeroes seg = {
		.sector = RACE_ZERO_SECTOR, .num_sectors = RACE_ZERO_SECTORS, .flags = 0};
	struct blk_harness_req wr, wz;
	struct blk_racer rc = {.n_fields = 0};
	uint8_t data[RACE_WRITE_LEN], *out_copy, *seg_host, *img;
	uint64_t deadline, runs = 0, answers[3] = {0, 0, 0};
	unsigned int bad_status = 0;
	struct blk_harness h;
	pthread_t writer;
	struct stat st;
	size_t bad_at = SIZE_MAX;

	(void)state;
	blk_harness_init(&h, NULL, 0);
	memset(data, RACE_DATA, sizeof(data));
	blk_harness_req_init(&wr);
	blk_harness_req_hdr(&h, &wr, VIRTIO_BLK_T_OUT, RACE_WRITE_SECTOR, false);
	out_copy = blk_harness_req_out(&h, &wr, data, sizeof(data));
	blk_harness_req_status(&h, &wr);
	blk_harness_req_init(&wz);
	blk_harness_req_hdr(&h, &wz, VIRTIO_BLK_T_WRITE_ZEROES, 0, false);
	seg_host = blk_harness_req_out(&h, &wz, &seg, sizeof(seg));
	blk_harness_req_status(&h, &wz);

	/* Types that change what the chain means; sectors at, across and past the end. */
	for (unsigned int i = 0; i < 2; i++) {
		struct blk_harness_req *r = i ? &wz : &wr;
		uint8_t *hdr = blk_harness_g2h(&h, r->sg[0].addr);
		uint32_t type = i ? VIRTIO_BLK_T_WRITE_ZEROES : VIRTIO_BLK_T_OUT;

		blk_racer_field(&rc, hdr, 4, type, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_DISCARD,
				VIRTIO_BLK_T_GET_ID, 0x7777);
		blk_racer_field(&rc, hdr + 8, 8, i ? 0 : RACE_WRITE_SECTOR, end, end - 4, end + 8,
				UINT64_MAX / 512u);
	}
	blk_racer_field(&rc, seg_host, 8, RACE_ZERO_SECTOR, end, end - 4, end + 8, 1ull << 40);
	blk_racer_field(&rc, seg_host + 8, 4, RACE_ZERO_SECTORS, end, end + 1, 0, 0xffffffffu);
	blk_racer_field(&rc, seg_host + 12, 4, 0, 2, 0x80000000u, 1, 0xffffffffu);

	assert_int_equal(pthread_create(&writer, NULL, blk_racer_writer, &rc), 0);
	sleep_wake_pin(1); /* the device here, the writer on the other CPU */
	deadline = sleep_wake_now_ns() + RACE_NS;
	while (sleep_wake_now_ns() < deadline) {
		struct blk_harness_req *r = runs % 2 ? &wz : &wr;
		uint8_t status;

		*r->status = 0xee;
		status = blk_harness_req_run(&h, 0, r, NULL);
		if (status > VIRTIO_BLK_S_UNSUPP)
			bad_status++;
		else
			answers[status]++;
		runs++;
	}
	atomic_store(&rc.stop, true);
	pthread_join(writer, NULL);

	assert_int_equal(fstat(h.img_fd, &st), 0);
	img = blk_harness_image_read(&h);
	for (size_t off = 0; off < BLK_HARNESS_IMG_SIZE && bad_at == SIZE_MAX; off++)
		if (!blk_racer_byte_ok(off, img[off]))
			bad_at = off;
	printf("# %llu requests: %llu OK, %llu IOERR, %llu UNSUPP, %u other; image %lld bytes%s\n",
	       (unsigned long long)runs, (unsigned long long)answers[0],
	       (unsigned long long)answers[1], (unsigned long long)answers[2], bad_status,
	       (long long)st.st_size, bad_at != SIZE_MAX ? ", a byte no good request wrote" : "");
	assert_int_equal(bad_status, 0);
	assert_int_equal(st.st_size, BLK_HARNESS_IMG_SIZE);
	assert_int_equal(bad_at, SIZE_MAX);
	/* The device never writes a readable buffer (the write's data is intact). */
	assert_memory_equal(out_copy, data, sizeof(data));
	/* The race reached both sides: good requests served, bad ones refused. */
	assert_true(answers[0] > 0 && answers[1] + answers[2] > 0);
	free(img);
	blk_harness_destroy(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_and_segments_raced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
