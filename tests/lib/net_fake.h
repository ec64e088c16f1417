/* SPDX-License-Identifier: MIT */
/*
 * A scripted virtio-net device for the driver's unit tests
 * (test_virtio_net): the fake transport of fake_transport.c with a device
 * that checks what the driver sends (transmit headers all zero, R-NET-05..07;
 * control commands framed as §5.1.6.5 says), answers control commands with
 * a chosen ack, optionally reflects transmitted frames back, and lets the
 * test put anything into the receive queue: honest frames, or hostile
 * headers, used lengths and buffer counts.
 *
 * The receive queue is held (fake_dev.hold): its buffers stay available
 * until the test fills them. Each test owns its heap instance (cmocka state).
 */
#ifndef VIREO_TESTS_NET_FAKE_H
#define VIREO_TESTS_NET_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vireo/virtio_net.h>

#include "tests/lib/fake_transport.h"

#define NET_FAKE_FRAME_MAX 65536u
#define NET_FAKE_CFG(field) offsetof(struct vireo_net_config, field)
#define NET_FAKE_RXQ 0u
#define NET_FAKE_TXQ 1u
#define NET_FAKE_CTRLQ 2u

/*
 * @reflect: every transmitted frame is received back (a header of zeroes,
 *	num_buffers as needed), as a forwarding back-end would
 * @ctrl_ack: the ack written for every command; @ctrl_used: the used len given
 * @violations: requests breaking the format rules (must stay 0)
 */
struct net_fake {
	struct virtio_bus bus;
	struct fake_dev fd;
	struct virtio_net_driver nd;
	struct virtio_net *net;
	bool reflect;
	uint8_t ctrl_ack;
	uint32_t ctrl_used;
	unsigned int violations;
	unsigned int tx_frames;
	uint32_t last_tx_len;
	unsigned int last_tx_descs;
	struct vireo_net_hdr_v1 last_tx_hdr;
	unsigned int ctrl_cmds;
	uint8_t last_ctrl_class;
	uint8_t last_ctrl_cmd;
	uint8_t last_ctrl_data[16];
	uint32_t last_ctrl_len;
	unsigned int last_ctrl_readable;
	uint8_t *scratch; /* NET_FAKE_FRAME_MAX + header */
	uint8_t *last_tx; /* NET_FAKE_FRAME_MAX */
};

/* cmocka setup: a heap fixture in *@state: a bus and a net device offering VERSION_1 only. */
int net_fake_setup(void **state);
/* cmocka teardown: unbind, check no violation and no ring error, free. */
int net_fake_teardown(void **state);

/* Write @len bytes of @v into the device's config space at @off. */
void net_fake_set_config(struct net_fake *f, size_t off, const void *v, size_t len);
/* Bind the driver with @options to the device offering VERSION_1 | @features (asserts). */
void net_fake_start(struct net_fake *f, uint64_t features, unsigned int options);

/* Receive buffers the driver has made available and the device has not used. */
unsigned int net_fake_rx_posted(struct net_fake *f);

/*
 * net_fake_rx() - deliver a frame: @hdr (NULL: zeroes, num_buffers counted)
 * then @len bytes of @frame, across as many receive buffers as it takes,
 * each filled up but the last. A non-NULL @hdr is written as it is.
 * Return: the buffers used, or -ENOSPC if the driver posted too few (then
 * nothing is used).
 */
int net_fake_rx(struct net_fake *f, const struct vireo_net_hdr_v1 *hdr, const void *frame,
		size_t len);

/*
 * net_fake_rx_raw() - use one receive buffer: copy @len bytes of @bytes
 * into it and report @used_len (<= the buffer) as written. Return: 0 or -ENOSPC
 */
int net_fake_rx_raw(struct net_fake *f, const void *bytes, size_t len, uint32_t used_len);

/*
 * net_fake_rx_used_raw() - take one receive buffer and write its used
 * entry by hand with @len, past the device-side checks (a len above the
 * buffer); the device side of the queue is out of step afterwards.
 * Return: 0 or -ENOSPC
 */
int net_fake_rx_used_raw(struct net_fake *f, uint32_t len);

#endif /* VIREO_TESTS_NET_FAKE_H */
