/* SPDX-License-Identifier: MIT */
/*
 * Shared fixture for the virtio-blk driver tests (test_virtio_blk,
 * test_virtio_blk_limits): a tiny in-memory block device served in the same
 * thread through the device-side ring API (tests/lib/fake_transport.c). The
 * device checks the requests' format (virtio 1.2 §5.2.6, drv:BLK/Device
 * Operation; checklist R-BLK-xx), records their layout, and can be told to
 * lie (forced status, forced used len, stale data).
 *
 * Life cycle: blk_fake_init() / blk_fake_destroy() on storage the caller owns
 * (it must not move in between: the fake device's priv points at it), or
 * blk_fake_setup() / blk_fake_teardown() as cmocka setup/teardown with a heap
 * instance in *state. Nothing global: each test has its own instance.
 */
#ifndef VIREO_TESTS_BLK_FAKE_H
#define VIREO_TESTS_BLK_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/virtio_blk.h>

#include "tests/lib/fake_transport.h"

#define BLK_FAKE_DISK_SECTORS 2048u
#define BLK_FAKE_DISK_BYTES (BLK_FAKE_DISK_SECTORS * VIRTIO_BLK_SECTOR_SIZE)
#define BLK_FAKE_SCRATCH_BYTES (BLK_FAKE_DISK_BYTES + 4096u)
#define BLK_FAKE_NO_FORCE (-1)
#define BLK_FAKE_CFG(field) offsetof(struct vireo_blk_config, field)

struct blk_fake {
	uint8_t *disk;
	uint8_t *scratch;
	struct vireo_blk_outhdr last_hdr;
	unsigned int last_readable, last_writable;
	uint32_t last_readable_bytes, last_writable_bytes;
	uint8_t last_payload[64];
	unsigned int requests;
	unsigned int violations;
	int force_status;
	/* A lying device: used len reported instead of the truth (BLK_FAKE_NO_FORCE: honest). */
	int64_t force_used_len;
	/* IN: status written, data left as it was (stale) */
	bool skip_data;
	/* DISCARD: each sector filled with this byte (0, as WRITE_ZEROES, by default), or
	 * left as it was (-1): a discard need not zero (R-BLK-09) */
	int discard_fill;
	/* DISCARD / WRITE_ZEROES: IOERR after this many segments were applied (0: never) */
	unsigned int fail_after_segments;
	char id[VIRTIO_BLK_ID_BYTES];
};

struct blk_fake_fixture {
	struct virtio_bus bus;
	struct fake_dev fd;
	struct virtio_blk_driver bd;
	struct blk_fake dev;
	struct virtio_blk *blk;
};

/*
 * blk_fake_init() - a bus and a fake block device of BLK_FAKE_DISK_SECTORS
 * sectors offering VERSION_1, not yet registered. @f must be zeroed.
 * Return: 0; -ENOMEM when memory is short; or the error of fake_dev_init().
 */
int blk_fake_init(struct blk_fake_fixture *f);
/* blk_fake_stop() - unbind: unregister the device (if bound) and the driver. */
void blk_fake_stop(struct blk_fake_fixture *f);
/* blk_fake_destroy() - free what blk_fake_init() allocated; call blk_fake_stop() first. */
void blk_fake_destroy(struct blk_fake_fixture *f);

/* cmocka setup: a heap fixture in *@state (fails the test when init fails). */
int blk_fake_setup(void **state);
/* cmocka teardown: stop, check the device saw no violation, destroy, free. */
int blk_fake_teardown(void **state);

/* Write @len bytes of @v into the device's config space at @off. */
void blk_fake_set_config(struct fake_dev *fd, size_t off, const void *v, size_t len);
/* Bind the driver to the fake device offering VERSION_1 | @features (asserts success). */
void blk_fake_start(struct blk_fake_fixture *f, uint64_t features);
/* Start expecting the probe to fail with @err: the device is left FAILED, nothing bound. */
void blk_fake_start_refused(struct blk_fake_fixture *f, uint64_t features, int err);
void blk_fake_fill_pattern(uint8_t *p, size_t len, uint8_t seed);

/* @n requests of @type, 4096 bytes each at sector i * 8, DMA buffers; free with below. */
void blk_fake_alloc_requests(struct blk_fake_fixture *f, struct virtio_blk_request *reqs,
			     struct virtio_blk_request **ptrs, unsigned int n, uint32_t type);
void blk_fake_free_requests(struct blk_fake_fixture *f, struct virtio_blk_request *reqs,
			    unsigned int n);
/* Drain @queue until @n completions arrived; check every one. */
void blk_fake_collect(struct blk_fake_fixture *f, unsigned int queue, unsigned int n);

#endif /* VIREO_TESTS_BLK_FAKE_H */
