/* SPDX-License-Identifier: MIT */
/*
 * Shared harness for the devices/blk unit tests (test_blk_device,
 * test_blk_device_refusals): a virtio-blk model (vireo_blk_device_new()) driven
 * through the core (vireo_vdev_set_status, queue config, kicks) by the driver-side
 * split ring over one mmap'd "guest memory" block, without a transport. The
 * image is a temp file (unlinked at once, so a failing test leaves nothing
 * behind) filled with blk_harness_pattern(); tests read it back directly.
 *
 * Life cycle: blk_harness_init() / _init_in() / _init_on() bring the device up
 * to DRIVER_OK on storage the caller owns (it must not move in between: the
 * queues' priv point into it); blk_harness_destroy() frees it all. Both fail
 * the running cmocka test on any error. Nothing global: each test has its own.
 *
 * Requests: blk_harness_req_init(), then header, data, status pieces in
 * order, then blk_harness_req_run() (or _req_add() + _kick() + _wait_used()).
 * Guest buffers come from a bump allocator and are never freed.
 */
#ifndef VIREO_TESTS_BLK_HARNESS_H
#define VIREO_TESTS_BLK_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/blk_device.h>
#include <vireo/device.h>
#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/virtqueue.h>

#define BLK_HARNESS_GPA_BASE 0x40000000ull
#define BLK_HARNESS_MEM_SIZE (8u << 20)
#define BLK_HARNESS_QNUM 64u
#define BLK_HARNESS_IMG_SIZE (1u << 20)
#define BLK_HARNESS_IMG_SECTORS (BLK_HARNESS_IMG_SIZE / 512u)
#define BLK_HARNESS_SERIAL "vireo-test-serial"

struct blk_harness_queue {
	struct virtqueue vq;
	struct vring_desc_extra extra[BLK_HARNESS_QNUM];
	int kick_fd;
};

struct blk_harness {
	uint8_t *host;
	struct guest_mem mem;
	struct event_loop loop;
	char path[64];
	int img_fd;
	struct blk_device *blk;
	struct vdev *dev;
	struct blk_harness_queue q[2];
	unsigned int nq;
	uint64_t heap;
};

/* One request as the driver builds it. */
struct blk_harness_req {
	struct virtio_sg sg[24];
	unsigned int out, in;
	uint8_t *status;
	int token;
};

/*
 * Bring a device up on a fresh image in @dir (§3.1.1 sequence), options from
 * @extra (readonly, num_queues, serial; NULL: defaults), ring features @ring
 * accepted where offered, features @drop refused. Fails the test on error.
 */
void blk_harness_init_in(struct blk_harness *h, const struct blk_device_options *extra,
			 uint64_t ring, const char *dir, uint64_t drop);
/*
 * blk_harness_init_in() on the existing file or block device @path (at least
 * BLK_HARNESS_IMG_SIZE bytes), filled with the pattern and kept afterwards.
 */
void blk_harness_init_on(struct blk_harness *h, const struct blk_device_options *extra,
			 uint64_t ring, const char *path, uint64_t drop);
/* blk_harness_init_in() in /tmp, nothing dropped. */
void blk_harness_init(struct blk_harness *h, const struct blk_device_options *extra, uint64_t ring);
void blk_harness_destroy(struct blk_harness *h);

/* Host address of guest address @gpa. */
void *blk_harness_g2h(struct blk_harness *h, uint64_t gpa);
/* @len bytes of guest memory, 64-byte aligned. Return: the guest address. */
uint64_t blk_harness_galloc(struct blk_harness *h, size_t len);
/* The image's initial byte at offset @off. */
uint8_t blk_harness_pattern(size_t off);
/* The whole image as it is in the file now; the caller frees it. */
uint8_t *blk_harness_image_read(struct blk_harness *h);

void blk_harness_req_init(struct blk_harness_req *r);
/* Append one descriptor; readable ones must all come before writable ones. */
void blk_harness_req_sg(struct blk_harness_req *r, uint64_t gpa, uint32_t len, bool writable);
/* The 16-byte header; @split puts it in two descriptors (5 + 11 bytes, apart). */
void blk_harness_req_hdr(struct blk_harness *h, struct blk_harness_req *r, uint32_t type,
			 uint64_t sector, bool split);
/* A readable data buffer holding a copy of @data. Return: its host address. */
uint8_t *blk_harness_req_out(struct blk_harness *h, struct blk_harness_req *r, const void *data,
			     uint32_t len);
/* A writable data buffer, pre-filled with 0x5a; @with_status appends the status byte to it. */
uint8_t *blk_harness_req_in(struct blk_harness *h, struct blk_harness_req *r, uint32_t len,
			    bool with_status);
/* A separate one-byte status descriptor, pre-set to 0xee. */
void blk_harness_req_status(struct blk_harness *h, struct blk_harness_req *r);
void blk_harness_req_add(struct blk_harness *h, unsigned int qi, struct blk_harness_req *r);
void blk_harness_kick(struct blk_harness *h, unsigned int qi);
/* Run the device's loop until @qi returns a buffer; Return: its token. */
struct blk_harness_req *blk_harness_wait_used(struct blk_harness *h, unsigned int qi,
					      uint32_t *len);
/* Submit @r alone on @qi and wait for it. Return: its status byte; *@len: used len. */
uint8_t blk_harness_req_run(struct blk_harness *h, unsigned int qi, struct blk_harness_req *r,
			    uint32_t *len);
/* Header, optional OUT data, optional IN data, status; run on queue 0. */
uint8_t blk_harness_simple(struct blk_harness *h, uint32_t type, uint64_t sector, const void *out,
			   uint32_t out_len, uint32_t in_len, uint32_t *len);
/* A DISCARD / WRITE_ZEROES of @n segments. */
uint8_t blk_harness_dwz(struct blk_harness *h, uint32_t type,
			const struct vireo_blk_discard_write_zeroes *seg, unsigned int n);

#endif /* VIREO_TESTS_BLK_HARNESS_H */
