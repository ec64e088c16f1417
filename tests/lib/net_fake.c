// SPDX-License-Identifier: MIT
/* The scripted virtio-net device of the driver tests; see net_fake.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/net_fake.h"

#define HDR_LEN sizeof(struct vireo_net_hdr_v1)

static struct vring_split_dev *rx_dev(struct net_fake *f)
{
	return &f->fd.vqs[NET_FAKE_RXQ]->dev;
}

static uint32_t copy_from_iov(uint8_t *dst, size_t cap, const struct vring_iov *iov, unsigned int n)
{
	uint32_t got = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		size_t c = iov[i].len < cap - got ? iov[i].len : cap - got;

		memcpy(dst + got, iov[i].base, c);
		got += (uint32_t)c;
	}
	return got;
}

/* Transmit: a zero header (R-NET-05/06/07), a frame, nothing writable. */
static uint32_t net_fake_tx(struct net_fake *f, const struct vring_chain *c, struct vring_iov *iov)
{
	static const uint8_t zero[HDR_LEN];
	uint32_t len;

	len = copy_from_iov(f->scratch, NET_FAKE_FRAME_MAX + HDR_LEN, iov, c->readable);
	if (c->writable || len < HDR_LEN) {
		f->violations++;
		return 0;
	}
	memcpy(&f->last_tx_hdr, f->scratch, HDR_LEN);
	if (memcmp(f->scratch, zero, HDR_LEN) != 0)
		f->violations++;
	f->tx_frames++;
	f->last_tx_descs = c->readable;
	f->last_tx_len = len - (uint32_t)HDR_LEN;
	memcpy(f->last_tx, f->scratch + HDR_LEN, f->last_tx_len);
	if (f->reflect)
		(void)net_fake_rx(f, NULL, f->last_tx, f->last_tx_len);
	return 0;
}

/* Control: class and command (+ data) readable, exactly one writable ack byte. */
static uint32_t net_fake_ctrl(struct net_fake *f, const struct vring_chain *c,
			      struct vring_iov *iov)
{
	uint8_t buf[64];
	uint32_t len;

	f->ctrl_cmds++;
	len = copy_from_iov(buf, sizeof(buf), iov, c->readable);
	f->last_ctrl_readable = c->readable;
	if (len < 2 || c->writable != 1 || c->writable_bytes != 1) {
		f->violations++;
		return 0;
	}
	f->last_ctrl_class = buf[0];
	f->last_ctrl_cmd = buf[1];
	f->last_ctrl_len = len - 2;
	memcpy(f->last_ctrl_data, buf + 2,
	       f->last_ctrl_len < sizeof(f->last_ctrl_data) ? f->last_ctrl_len
							    : sizeof(f->last_ctrl_data));
	*(uint8_t *)iov[c->readable].base = f->ctrl_ack;
	return f->ctrl_used;
}

static uint32_t net_fake_handler(struct fake_dev *fd, unsigned int q, const struct vring_chain *c,
				 struct vring_iov *iov)
{
	struct net_fake *f = fd->priv;

	if (q == NET_FAKE_TXQ)
		return net_fake_tx(f, c, iov);
	if (q == NET_FAKE_CTRLQ)
		return net_fake_ctrl(f, c, iov);
	f->violations++; /* the receive queue is held: never served here */
	return 0;
}

int net_fake_setup(void **state)
{
	struct net_fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->scratch = malloc(NET_FAKE_FRAME_MAX + HDR_LEN);
	f->last_tx = malloc(NET_FAKE_FRAME_MAX);
	assert_non_null(f->scratch);
	assert_non_null(f->last_tx);
	virtio_bus_init(&f->bus);
	assert_int_equal(
		fake_dev_init(&f->fd, VIRTIO_ID_NET, VIRTIO_BIT(VIRTIO_F_VERSION_1), 8u << 20), 0);
	f->fd.handler = net_fake_handler;
	f->fd.priv = f;
	f->fd.hold[NET_FAKE_RXQ] = true;
	f->ctrl_ack = VIRTIO_NET_OK;
	f->ctrl_used = 1;
	*state = f;
	return 0;
}

int net_fake_teardown(void **state)
{
	struct net_fake *f = *state;

	if (f->fd.vdev.bus)
		vireo_unregister_virtio_device(&f->fd.vdev);
	virtio_net_unregister(&f->bus, &f->nd);
	assert_int_equal(f->violations, 0);
	assert_false(f->fd.kick_before_driver_ok);
	assert_false(f->fd.config_written); /* R-NET-01 */
	fake_dev_destroy(&f->fd);
	free(f->scratch);
	free(f->last_tx);
	free(f);
	return 0;
}

void net_fake_set_config(struct net_fake *f, size_t off, const void *v, size_t len)
{
	memcpy(f->fd.config + off, v, len);
}

void net_fake_start(struct net_fake *f, uint64_t features, unsigned int options)
{
	f->fd.offered |= features;
	f->nd.options = options;
	assert_int_equal(virtio_net_register(&f->bus, &f->nd), 0);
	assert_int_equal(vireo_register_virtio_device(&f->bus, &f->fd.vdev), 0);
	f->net = virtio_net_from_device(virtio_bus_find(&f->bus, VIRTIO_ID_NET, 0));
	assert_non_null(f->net);
}

unsigned int net_fake_rx_posted(struct net_fake *f)
{
	const struct virtq_avail *avail = f->fd.vqs[NET_FAKE_RXQ]->vq.split.avail;

	return (uint16_t)(le16_to_cpu(avail->idx) - vring_split_dev_get_last_avail(rx_dev(f)));
}

/* The size of the next available receive buffer (the driver is ours: trusted here). */
static uint32_t net_fake_next_size(struct net_fake *f)
{
	const struct vring_split_drv *d = &f->fd.vqs[NET_FAKE_RXQ]->vq.split;
	uint16_t slot = vring_split_dev_get_last_avail(rx_dev(f)) & (uint16_t)(d->num - 1);
	uint16_t head = le16_to_cpu(d->avail->ring[slot]);

	return le32_to_cpu(d->desc[head].len);
}

/* Pop one receive chain, copy @len bytes of @src in; *@head, *@room set. */
static int net_fake_fill(struct net_fake *f, const uint8_t *src, size_t len, uint16_t *head,
			 uint32_t *room)
{
	struct vring_iov iov[FAKE_IOV_MAX];
	struct vring_chain c;
	size_t done = 0;
	unsigned int i;

	if (vring_split_dev_pop(rx_dev(f), &c, iov, FAKE_IOV_MAX) != 0)
		return -ENOSPC;
	assert_int_equal(c.readable, 0); /* R-SR-02: receive buffers are device-writable */
	for (i = 0; i < c.writable && done < len; i++) {
		size_t n = iov[i].len < len - done ? iov[i].len : len - done;

		memcpy(iov[i].base, src + done, n);
		done += n;
	}
	*head = c.head;
	*room = c.writable_bytes;
	return 0;
}

int net_fake_rx(struct net_fake *f, const struct vireo_net_hdr_v1 *hdr, const void *frame,
		size_t len)
{
	struct vireo_net_hdr_v1 h = {0};
	size_t total = HDR_LEN + len, done = 0;
	uint32_t size, room, need;
	uint16_t head;
	uint8_t *buf;

	if (net_fake_rx_posted(f) == 0)
		return -ENOSPC;
	size = net_fake_next_size(f);
	need = (uint32_t)((total + size - 1) / size);
	if (need > net_fake_rx_posted(f))
		return -ENOSPC;
	h.num_buffers = cpu_to_le16((uint16_t)need);
	if (hdr)
		h = *hdr;
	buf = malloc(total);
	assert_non_null(buf);
	memcpy(buf, &h, HDR_LEN);
	memcpy(buf + HDR_LEN, frame, len);
	while (done < total) {
		size_t n = total - done < size ? total - done : size;

		assert_int_equal(net_fake_fill(f, buf + done, n, &head, &room), 0);
		assert_int_equal(room, size);
		assert_int_equal(vring_split_dev_push(rx_dev(f), head, (uint32_t)n), 0);
		done += n;
	}
	/* D-NET-25: every buffer of the frame becomes visible at once. */
	vring_split_dev_flush(rx_dev(f));
	free(buf);
	return (int)need;
}

int net_fake_rx_raw(struct net_fake *f, const void *bytes, size_t len, uint32_t used_len)
{
	uint32_t room;
	uint16_t head;

	if (net_fake_fill(f, bytes, len, &head, &room))
		return -ENOSPC;
	assert_int_equal(vring_split_dev_push(rx_dev(f), head, used_len), 0);
	vring_split_dev_flush(rx_dev(f));
	return 0;
}

int net_fake_rx_used_raw(struct net_fake *f, uint32_t len)
{
	struct virtq_used *used = f->fd.vqs[NET_FAKE_RXQ]->vq.split.used;
	uint16_t num = f->fd.vqs[NET_FAKE_RXQ]->vq.split.num, idx, head;
	uint32_t room;

	if (net_fake_fill(f, NULL, 0, &head, &room))
		return -ENOSPC;
	idx = le16_to_cpu(used->idx);
	used->ring[idx & (num - 1)].id = cpu_to_le32(head);
	used->ring[idx & (num - 1)].len = cpu_to_le32(len);
	/* Release: the entry before the index, as a device publishes it (§2.7.8). */
	__atomic_store_n(&used->idx, cpu_to_le16((uint16_t)(idx + 1)), __ATOMIC_RELEASE);
	return 0;
}
