// SPDX-License-Identifier: MIT
/* The devices/net test harness; see net_harness.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/net_harness.h"

#define GPA_BASE NET_HARNESS_GPA_BASE
#define MEM_SIZE NET_HARNESS_MEM_SIZE
#define HEAP_START (1u << 20)
#define QUEUE_STRIDE 0x10000u

void *net_harness_g2h(struct net_harness *h, uint64_t gpa)
{
	return h->host + (gpa - GPA_BASE);
}

uint64_t net_harness_galloc(struct net_harness *h, size_t len, uint8_t fill)
{
	uint64_t gpa = GPA_BASE + h->heap;

	h->heap += (len + 63) & ~(size_t)63;
	assert_true(h->heap <= MEM_SIZE);
	memset(net_harness_g2h(h, gpa), fill, len);
	return gpa;
}

static bool hq_notify(struct virtqueue *vq)
{
	struct net_harness_queue *hq = vq->priv;

	return vireo_eventfd_signal_fd(hq->kick_fd) == 0;
}

static void capture(void *opaque, const struct net_packet *pkt)
{
	struct net_harness *h = opaque;
	struct net_harness_frame *f;

	assert_true(h->ncaptured < NET_HARNESS_MAX_CAPTURE);
	f = &h->captured[h->ncaptured++];
	f->vnet = pkt->vnet;
	f->len = pkt->len;
	f->data = malloc(pkt->len);
	assert_non_null(f->data);
	memcpy(f->data, pkt->data, pkt->len);
}

static void queue_setup(struct net_harness *h, unsigned int i)
{
	struct net_harness_queue *hq = &h->q[i];
	uint64_t base = GPA_BASE + (uint64_t)i * QUEUE_STRIDE;
	struct vring_split_drv_config cfg = {
		.num = NET_HARNESS_QNUM,
		.desc = net_harness_g2h(h, base),
		.avail = net_harness_g2h(h, base + 0x1000),
		.used = net_harness_g2h(h, base + 0x2000),
		.extra = hq->extra,
		.event_idx = h->features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX),
	};

	assert_int_equal(virtqueue_split_init(&hq->vq, &cfg), 0);
	hq->vq.notify = hq_notify;
	hq->vq.priv = hq;
	hq->vq.index = i;
	hq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(hq->kick_fd >= 0);
	assert_int_equal(vireo_vdev_queue_set_num(h->dev, i, NET_HARNESS_QNUM), 0);
	assert_int_equal(vireo_vdev_queue_set_addr(h->dev, i, base, base + 0x1000, base + 0x2000),
			 0);
	assert_int_equal(vireo_vdev_queue_set_kick_fd(h->dev, i, hq->kick_fd), 0);
	assert_int_equal(vireo_vdev_queue_set_call_fd(h->dev, i, eventfd(0, EFD_NONBLOCK)), 0);
	hq->ready = true;
}

void net_harness_init(struct net_harness *h, const struct net_device_options *opt, uint64_t want)
{
	struct net_device_options o = {.queue_size = NET_HARNESS_QNUM,
				       .mac = {0x02, 0, 0, 0, 0, 0x01}};
	const uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	memset(h, 0, sizeof(*h));
	h->heap = HEAP_START;
	h->host = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(h->host != MAP_FAILED);
	vireo_guest_mem_init(&h->mem);
	assert_int_equal(vireo_guest_mem_add_region(&h->mem, GPA_BASE, MEM_SIZE, h->host), 0);
	assert_int_equal(vireo_event_loop_init(&h->loop), 0);
	if (opt)
		o = *opt;
	assert_int_equal(vireo_net_device_new(&h->nd, &o), 0);
	vireo_net_device_set_tx_handler(h->nd, capture, h);
	h->dev = vireo_net_device_vdev(h->nd);
	vireo_vdev_set_memory(h->dev, &h->mem);
	vireo_vdev_set_event_loop(h->dev, &h->loop);
	assert_int_equal(vireo_vdev_set_status(h->dev, VIRTIO_STATUS_ACKNOWLEDGE), 0);
	assert_int_equal(vireo_vdev_set_status(h->dev, s), 0);
	h->features = (want & h->dev->offered_features) | VIRTIO_BIT(VIRTIO_F_VERSION_1);
	assert_int_equal(vireo_vdev_set_driver_features(h->dev, h->features), 0);
	assert_int_equal(vireo_vdev_set_status(h->dev, s | VIRTIO_STATUS_FEATURES_OK), 0);
	queue_setup(h, 0);
	queue_setup(h, 1);
	h->ctrl_index = -1;
	if (h->features & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ)) {
		h->ctrl_index =
			h->features & VIRTIO_BIT(VIRTIO_NET_F_MQ) ? 2 * (int)o.queue_pairs : 2;
		queue_setup(h, (unsigned int)h->ctrl_index);
	}
	assert_int_equal(vireo_vdev_set_status(h->dev, s | VIRTIO_STATUS_FEATURES_OK |
							       VIRTIO_STATUS_DRIVER_OK),
			 0);
	assert_false(vdev_needs_reset(h->dev));
}

void net_harness_destroy(struct net_harness *h)
{
	for (unsigned int i = 0; i < h->ncaptured; i++)
		free(h->captured[i].data);
	vireo_net_device_free(h->nd);
	vireo_event_loop_destroy(&h->loop);
	munmap(h->host, MEM_SIZE);
}

uint32_t net_harness_run(struct net_harness *h, unsigned int qi, const struct virtio_sg *sg,
			 unsigned int out, unsigned int in)
{
	struct net_harness_queue *hq = &h->q[qi];
	uint32_t len = 0;
	int token = 1;

	assert_true(hq->ready);
	assert_int_equal(virtqueue_add_sgs(&hq->vq, sg, out, in, &token), 0);
	virtqueue_kick(&hq->vq);
	for (int i = 0; i < 200; i++) {
		void *t = virtqueue_get_buf(&hq->vq, &len);

		if (t) {
			assert_ptr_equal(t, &token);
			return len;
		}
		if (vdev_needs_reset(h->dev))
			fail_msg("device needs reset");
		(void)vireo_event_loop_run_once(&h->loop, 20);
	}
	fail_msg("no used buffer on queue %u", qi);
	return 0;
}

uint32_t net_harness_tx(struct net_harness *h, const struct vireo_net_hdr_v1 *hdr,
			const void *frame, uint32_t len, const uint32_t *cuts, unsigned int ncuts)
{
	uint32_t total = (uint32_t)sizeof(*hdr) + len, prev = 0;
	uint64_t a = net_harness_galloc(h, total, 0);
	uint8_t *p = net_harness_g2h(h, a);
	struct virtio_sg sg[16];
	unsigned int n = 0;

	memcpy(p, hdr, sizeof(*hdr));
	memcpy(p + sizeof(*hdr), frame, len);
	assert_true(ncuts < 15);
	for (unsigned int i = 0; i <= ncuts; i++) {
		uint32_t end = i < ncuts ? cuts[i] : total;

		assert_true(end >= prev && end <= total);
		/* each piece in its own allocation, so pieces are not adjacent in memory */
		uint64_t piece = net_harness_galloc(h, end - prev ? end - prev : 1, 0);

		memcpy(net_harness_g2h(h, piece), p + prev, end - prev);
		sg[n++] = (struct virtio_sg){.addr = piece, .len = end - prev};
		prev = end;
	}
	return net_harness_run(h, 1, sg, n, 0);
}

uint64_t net_harness_post_rx(struct net_harness *h, uint32_t len, unsigned int nseg)
{
	uint64_t a = net_harness_galloc(h, len, 0x5a);
	struct virtio_sg sg[16];
	uint32_t per = len / nseg;

	assert_true(nseg >= 1 && nseg <= 16);
	for (unsigned int i = 0; i < nseg; i++)
		sg[i] = (struct virtio_sg){.addr = a + i * per,
					   .len = i + 1 == nseg ? len - i * per : per};
	assert_int_equal(virtqueue_add_sgs(&h->q[0].vq, sg, 0, nseg, (void *)(uintptr_t)a), 0);
	virtqueue_kick(&h->q[0].vq);
	(void)vireo_event_loop_run_once(&h->loop, 0);
	return a;
}

uint64_t net_harness_take_rx(struct net_harness *h, uint32_t *len)
{
	return (uint64_t)(uintptr_t)virtqueue_get_buf(&h->q[0].vq, len);
}

uint8_t net_harness_ctrl(struct net_harness *h, uint8_t cls, uint8_t cmd, const void *data,
			 uint32_t len)
{
	uint64_t a = net_harness_galloc(h, 2 + len + 1, 0);
	uint8_t *p = net_harness_g2h(h, a);
	struct virtio_sg sg[2] = {{.addr = a, .len = 2 + len}, {.addr = a + 2 + len, .len = 1}};

	assert_true(h->ctrl_index >= 0);
	p[0] = cls;
	p[1] = cmd;
	if (len)
		memcpy(p + 2, data, len);
	p[2 + len] = 0xee;
	(void)net_harness_run(h, (unsigned int)h->ctrl_index, sg, 1, 1);
	return p[2 + len];
}

uint64_t net_harness_drops(struct net_harness *h, enum net_drop_reason r)
{
	struct net_device_stats st;

	vireo_net_device_get_stats(h->nd, &st);
	return st.drops[r];
}

uint8_t *net_harness_frame(const uint8_t dst[6], const uint8_t src[6], uint32_t len, uint8_t seed)
{
	uint8_t *f = malloc(len);

	assert_non_null(f);
	assert_true(len >= 14);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 7 + seed);
	return f;
}
