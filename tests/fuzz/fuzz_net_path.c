// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the virtio-net model's header paths (devices/net):
 * the input is a hostile driver and a hostile peer. It picks the negotiated
 * features, then runs a sequence of operations against one device:
 *   transmit: a header + frame of its choosing, cut into descriptors at
 *             byte offsets of its choosing (the header may span several);
 *   receive:  a frame with an offload header of its choosing, into receive
 *             buffers whose sizes and descriptor splits it chooses;
 *   control:  a control command of its choosing.
 * Guest memory has PROT_NONE guard pages around it, so ASan and the MMU see
 * any access outside it. After each operation we check what the device
 * promised: a frame handed on is 14..NET_FRAME_MAX bytes and its offload
 * header is one the driver may send (§5.1.6.2); a received frame's used
 * lengths stay within the buffers and num_buffers counts them (D-NET-20..25);
 * the header carries only offloads the driver negotiated (D-NET-26..30).
 *
 * Input layout: byte 0 feature choice (bit0 CSUM+HOST_TSO4/6, bit1 guest
 * offloads, bit2 MRG_RXBUF, bit3 EVENT_IDX, bit4 CTRL_VQ+CTRL_RX+MAC_ADDR,
 * bit5 MTU 9000), then operations: one opcode byte (% 3) and its fields.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <vireo/guest_mem.h>
#include <vireo/net_device.h>
#include <vireo/virtqueue.h>

#include "tests/fuzz/fuzz_check.h"

#define FZ_GPA 0x100000ull
#define FZ_MEM (8u << 20)
#define FZ_PAGE 4096u
#define FZ_QNUM 64u
#define FZ_HEAP 0x40000u
#define FZ_MAX_SEG 16u

struct fz_queue {
	struct virtqueue vq;
	struct vring_desc_extra extra[FZ_QNUM];
};

struct fz {
	const uint8_t *in;
	size_t left;
	uint8_t *map, *host;
	struct guest_mem mem;
	struct net_device *nd;
	struct vdev *dev;
	uint64_t acked;
	struct fz_queue q[3];
	bool ctrl;
	uint64_t heap;
	unsigned int tx_seen;
};

static uint8_t fz_u8(struct fz *f)
{
	if (!f->left)
		return 0;
	f->left--;
	return *f->in++;
}

static uint16_t fz_u16(struct fz *f)
{
	uint16_t lo = fz_u8(f);

	return (uint16_t)(lo | fz_u8(f) << 8);
}

static void fz_bytes(struct fz *f, uint8_t *dst, size_t n)
{
	size_t take = n < f->left ? n : f->left;

	memcpy(dst, f->in, take);
	memset(dst + take, 0, n - take);
	f->in += take;
	f->left -= take;
}

/* Guest memory from a bump allocator; NULL guest address 0 when full. */
static uint64_t fz_alloc(struct fz *f, size_t len)
{
	uint64_t gpa = FZ_GPA + f->heap;

	if (f->heap + len + 64 > FZ_MEM)
		return 0;
	f->heap += (len + 63) & ~(size_t)63;
	return gpa;
}

static void *fz_host(struct fz *f, uint64_t gpa)
{
	return f->host + (gpa - FZ_GPA);
}

/* What the device hands on must be a frame a port may take (§5.1.6.2 checks done). */
static void fz_on_tx(void *opaque, const struct net_packet *pkt)
{
	struct fz *f = opaque;
	unsigned int type = pkt->vnet.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	f->tx_seen++;
	FUZZ_CHECK(pkt->len >= 14 && pkt->len <= NET_FRAME_MAX);
	FUZZ_CHECK((pkt->vnet.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0);
	if (pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		FUZZ_CHECK(f->acked & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
		FUZZ_CHECK((uint32_t)pkt->vnet.csum_start + pkt->vnet.csum_offset + 2u <= pkt->len);
	}
	if (type != VIRTIO_NET_HDR_GSO_NONE) {
		FUZZ_CHECK(pkt->vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
		FUZZ_CHECK(pkt->vnet.gso_size > 0);
		FUZZ_CHECK((type == VIRTIO_NET_HDR_GSO_TCPV4 &&
			    (f->acked & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4))) ||
			   (type == VIRTIO_NET_HDR_GSO_TCPV6 &&
			    (f->acked & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6))));
	} else {
		FUZZ_CHECK(pkt->len <= 9000u + 18u);
	}
	/* Read every byte: the frame must be ours to read. */
	volatile uint8_t sum = 0;
	for (uint32_t i = 0; i < pkt->len; i++)
		sum ^= pkt->data[i];
	(void)sum;
}

/* Return: false if setup failed (out of memory); nothing to check then. */
static bool fz_queue_setup(struct fz *f, unsigned int i)
{
	uint64_t base = FZ_GPA + (uint64_t)i * 0x8000u;
	struct vring_split_drv_config cfg = {
		.num = FZ_QNUM,
		.desc = fz_host(f, base),
		.avail = fz_host(f, base + 0x1000),
		.used = fz_host(f, base + 0x2000),
		.extra = f->q[i].extra,
		.event_idx = f->acked & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX),
	};

	if (virtqueue_split_init(&f->q[i].vq, &cfg) < 0 ||
	    vireo_vdev_queue_set_num(f->dev, i, FZ_QNUM) < 0 ||
	    vireo_vdev_queue_set_addr(f->dev, i, base, base + 0x1000, base + 0x2000) < 0)
		return false;
	return true;
}

static uint64_t fz_features(uint8_t choice)
{
	uint64_t w = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
		     VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_MTU);

	if (choice & 1)
		w |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6);
	if (choice & 2)
		w |= VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		     VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
	if (choice & 4)
		w |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (choice & 8)
		w |= VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	if (choice & 16)
		w |= VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) |
		     VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);
	return w;
}

/* Bring the device to DRIVER_OK in polling mode. Return: false on a setup failure. */
static bool fz_setup(struct fz *f, uint8_t choice)
{
	const uint8_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	struct net_device_options o = {.mac = {2, 0, 0, 0, 0, 1},
				       .queue_size = FZ_QNUM,
				       .offloads = NET_OFFLOAD_ALL,
				       .mtu = choice & 32 ? 9000 : 1500};

	f->map = mmap(NULL, FZ_MEM + 2 * FZ_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->map == MAP_FAILED)
		return false;
	f->host = f->map + FZ_PAGE;
	if (mprotect(f->host, FZ_MEM, PROT_READ | PROT_WRITE) < 0)
		return false;
	vireo_guest_mem_init(&f->mem);
	if (vireo_guest_mem_add_region(&f->mem, FZ_GPA, FZ_MEM, f->host) < 0 ||
	    vireo_net_device_new(&f->nd, &o) < 0)
		return false;
	f->dev = vireo_net_device_vdev(f->nd);
	vireo_net_device_set_tx_handler(f->nd, fz_on_tx, f);
	vireo_net_device_set_polling(f->nd, true);
	vireo_vdev_set_memory(f->dev, &f->mem);
	f->acked = fz_features(choice) & f->dev->offered_features;
	f->ctrl = f->acked & VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ);
	f->heap = FZ_HEAP;
	if (vireo_vdev_set_status(f->dev, VIRTIO_STATUS_ACKNOWLEDGE) < 0 ||
	    vireo_vdev_set_status(f->dev, s) < 0 ||
	    vireo_vdev_set_driver_features(f->dev, f->acked) < 0 ||
	    vireo_vdev_set_status(f->dev, s | VIRTIO_STATUS_FEATURES_OK) < 0)
		return false;
	for (unsigned int i = 0; i < (f->ctrl ? 3u : 2u); i++)
		if (!fz_queue_setup(f, i))
			return false;
	return vireo_vdev_set_status(f->dev,
				     s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK) == 0;
}

/* Transmit: up to 2 KiB + header from the input, cut at input-chosen offsets. */
static void fz_tx(struct fz *f)
{
	uint32_t total = fz_u16(f) % 4096u, prev = 0, cut;
	unsigned int n = 1 + fz_u8(f) % FZ_MAX_SEG, used = 0;
	struct virtio_sg sg[FZ_MAX_SEG];
	uint32_t len;

	for (unsigned int i = 0; i < n; i++) {
		cut = i + 1 == n ? total : prev + fz_u16(f) % (total - prev + 1);
		sg[used].addr = fz_alloc(f, cut - prev + 1);
		if (!sg[used].addr)
			return;
		sg[used].len = cut - prev;
		fz_bytes(f, fz_host(f, sg[used].addr), cut - prev);
		used++;
		prev = cut;
	}
	if (virtqueue_add_sgs(&f->q[1].vq, sg, used, 0, f) < 0)
		return;
	(void)virtqueue_kick_prepare(&f->q[1].vq);
	(void)vireo_net_device_poll(f->nd);
	while (virtqueue_get_buf(&f->q[1].vq, &len))
		FUZZ_CHECK(len == 0);
}

/* Check the used receive buffers of one frame: lengths and num_buffers (D-NET-20..25). */
static void fz_rx_check(struct fz *f, uint32_t frame_len)
{
	uint32_t len, total = 0, count = 0, first_nbuf = 0;
	void *token;

	while ((token = virtqueue_get_buf(&f->q[0].vq, &len)) != NULL) {
		uint64_t gpa = (uint64_t)(uintptr_t)token;
		const struct vireo_net_hdr_v1 *h = fz_host(f, gpa);

		if (count == 0) {
			first_nbuf = h->num_buffers;
			if (!(f->acked & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)))
				FUZZ_CHECK(h->flags == 0 && h->gso_type == 0);
		}
		total += len;
		count++;
	}
	if (count == 0)
		return;
	FUZZ_CHECK(first_nbuf == count);
	FUZZ_CHECK(total == frame_len + sizeof(struct vireo_net_hdr_v1));
	if (!(f->acked & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF)))
		FUZZ_CHECK(count == 1);
}

/* Receive: post input-sized buffers, deliver an input-chosen frame and header. */
static void fz_rx(struct fz *f)
{
	unsigned int nbuf = fz_u8(f) % 8u;
	struct net_packet pkt;
	uint8_t frame[4096];

	for (unsigned int b = 0; b < nbuf; b++) {
		uint32_t size = 1u + fz_u16(f) % 3012u, per;
		unsigned int nseg = 1 + fz_u8(f) % 4u;
		struct virtio_sg sg[4];
		uint64_t a = fz_alloc(f, size);

		if (!a)
			return;
		per = size / nseg;
		for (unsigned int i = 0; i < nseg; i++)
			sg[i] = (struct virtio_sg){.addr = a + i * per,
						   .len = i + 1 == nseg ? size - i * per : per};
		if (virtqueue_add_sgs(&f->q[0].vq, sg, 0, nseg, (void *)(uintptr_t)a) < 0)
			break;
	}
	(void)virtqueue_kick_prepare(&f->q[0].vq);
	fz_bytes(f, (uint8_t *)&pkt.vnet, sizeof(pkt.vnet));
	pkt.len = fz_u16(f) % sizeof(frame);
	fz_bytes(f, frame, pkt.len);
	pkt.data = frame;
	if (vireo_net_device_receive(f->nd, &pkt) == 0)
		fz_rx_check(f, pkt.len);
	else
		FUZZ_CHECK(virtqueue_get_buf(&f->q[0].vq, &(uint32_t){0}) == NULL);
}

/* Control: an input-chosen command with a one-byte ack. */
static void fz_ctrl(struct fz *f)
{
	uint32_t len = fz_u16(f) % 1200u;
	uint64_t a = fz_alloc(f, len + 1);
	struct virtio_sg sg[2];
	uint32_t used;

	if (!f->ctrl || !a)
		return;
	fz_bytes(f, fz_host(f, a), len);
	sg[0] = (struct virtio_sg){.addr = a, .len = len};
	sg[1] = (struct virtio_sg){.addr = a + len, .len = 1};
	if (virtqueue_add_sgs(&f->q[2].vq, len ? sg : sg + 1, len ? 1 : 0, 1, f) < 0)
		return;
	(void)virtqueue_kick_prepare(&f->q[2].vq);
	(void)vireo_net_device_poll(f->nd);
	while (virtqueue_get_buf(&f->q[2].vq, &used))
		FUZZ_CHECK(used <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	unsigned int ops = 0;

	memset(&f, 0, sizeof(f));
	f.in = data;
	f.left = size;
	if (size == 0 || !fz_setup(&f, fz_u8(&f)))
		goto out;
	while (f.left && ops++ < 64 && !vdev_needs_reset(f.dev)) {
		switch (fz_u8(&f) % 3u) {
		case 0:
			fz_tx(&f);
			break;
		case 1:
			fz_rx(&f);
			break;
		default:
			fz_ctrl(&f);
			break;
		}
	}
out:
	vireo_net_device_free(f.nd);
	if (f.map && f.map != MAP_FAILED)
		munmap(f.map, FZ_MEM + 2 * FZ_PAGE);
	return 0;
}
