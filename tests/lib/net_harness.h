/* SPDX-License-Identifier: MIT */
/*
 * Test harness for the devices/net unit tests: a virtio-net model
 * (vireo_net_device_new()) driven through the core (status, features, queue
 * config, kicks) by driver-side split rings over one mmap'd "guest memory"
 * block, without a transport. Queue pair 1 (rx 0, tx 1) and the control
 * queue (2) are set up when their features allow. Frames the device
 * transmits are captured; frames are received by calling
 * vireo_net_device_receive() directly.
 *
 * Life cycle: net_harness_init() on storage the caller owns (it must not
 * move: queue priv pointers point into it), net_harness_destroy(). Both fail
 * the running cmocka test on error. Guest buffers come from a bump allocator.
 */
#ifndef VIREO_TESTS_NET_HARNESS_H
#define VIREO_TESTS_NET_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/device.h>
#include <vireo/event_loop.h>
#include <vireo/guest_mem.h>
#include <vireo/net_device.h>
#include <vireo/virtqueue.h>

#define NET_HARNESS_GPA_BASE 0x40000000ull
#define NET_HARNESS_MEM_SIZE (16u << 20)
#define NET_HARNESS_QNUM 64u
#define NET_HARNESS_MAX_CAPTURE 64u
#define NET_HARNESS_QUEUES 5u

struct net_harness_queue {
	struct virtqueue vq;
	struct vring_desc_extra extra[NET_HARNESS_QNUM];
	int kick_fd;
	bool ready;
};

/* A frame the device transmitted, copied. */
struct net_harness_frame {
	struct vireo_net_hdr_v1 vnet;
	uint8_t *data;
	uint32_t len;
};

struct net_harness {
	uint8_t *host;
	struct guest_mem mem;
	struct event_loop loop;
	struct net_device *nd;
	struct vdev *dev;
	uint64_t features; /* negotiated */
	struct net_harness_queue q[NET_HARNESS_QUEUES];
	int ctrl_index;
	uint64_t heap;
	struct net_harness_frame captured[NET_HARNESS_MAX_CAPTURE];
	unsigned int ncaptured;
};

/*
 * Bring a device up with @opt (NULL: defaults), accepting the offered
 * features in @want (VIRTIO_F_VERSION_1 is added) and setting up the rx, tx
 * and (with CTRL_VQ) control queues of pair 1. Fails the test on error.
 */
void net_harness_init(struct net_harness *h, const struct net_device_options *opt, uint64_t want);
void net_harness_destroy(struct net_harness *h);

void *net_harness_g2h(struct net_harness *h, uint64_t gpa);
/* @len bytes of guest memory, 64-byte aligned, filled with @fill. Return: the guest address. */
uint64_t net_harness_galloc(struct net_harness *h, size_t len, uint8_t fill);

/* Add a chain on queue @qi, kick, run the loop until it is used. Return: its used len. */
uint32_t net_harness_run(struct net_harness *h, unsigned int qi, const struct virtio_sg *sg,
			 unsigned int out, unsigned int in);

/*
 * Transmit: header @hdr then @frame, split into descriptors at the byte
 * offsets in @cuts (ascending, within 12 + @len; NULL/0: one descriptor).
 * Return: the used len (0 expected).
 */
uint32_t net_harness_tx(struct net_harness *h, const struct vireo_net_hdr_v1 *hdr,
			const void *frame, uint32_t len, const uint32_t *cuts, unsigned int ncuts);

/* Post one receive buffer of @len bytes (in @nseg equal descriptors); Return: its guest address. */
uint64_t net_harness_post_rx(struct net_harness *h, uint32_t len, unsigned int nseg);

/* Take one used receive buffer. Return: its guest address, or 0 if none; *@len: used len. */
uint64_t net_harness_take_rx(struct net_harness *h, uint32_t *len);

/* A control command. Return: the ack byte (0xee if the device wrote none). */
uint8_t net_harness_ctrl(struct net_harness *h, uint8_t cls, uint8_t cmd, const void *data,
			 uint32_t len);

/* The model's counter for @r. */
uint64_t net_harness_drops(struct net_harness *h, enum net_drop_reason r);

/* A test frame: dst, src, ethertype 0x88b5, payload bytes i * 7 + @seed. Caller frees. */
uint8_t *net_harness_frame(const uint8_t dst[6], const uint8_t src[6], uint32_t len, uint8_t seed);

#endif /* VIREO_TESTS_NET_HARNESS_H */
