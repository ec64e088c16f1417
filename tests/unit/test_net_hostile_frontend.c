// SPDX-License-Identifier: MIT
/*
 * A scripted hostile front-end against the real `vireo serve net` (the
 * `vireo` binary of the same build, so the ASan build runs it under ASan):
 * port 1 is driven by a raw driver that puts hand-made chains on its
 * transmit queue (headers split anywhere, short, runt, oversize, offsets and
 * GSO fields outside the frame, writable descriptors, an address outside
 * its memory); port 2 is a raw receiver. Each hostile frame is followed by
 * a good one: exactly the good frames arrive, each drop is counted under its
 * reason in the counters `vireo serve net` prints at exit, and the server
 * exits 0 (no sanitizer report) after SIGTERM. Disabled rings are served as vhost-user's
 * "Ring states" ask: transmit discarded, nothing received.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vireo/driver.h>
#include <vireo/spec.h>
#include <vireo/vhost_user_frontend.h>
#include <vireo/virtqueue.h>

#include "tests/lib/vireo_proc.h"

#define HDR 12u
#define RX_BUFS 32u
#define RX_BUF_SIZE 2048u

/* A raw driver: binds to any net device, sets up rx and tx, does nothing else. */
struct raw {
	struct virtio_driver drv;
	unsigned int features[8];
	struct virtio_bus bus;
	struct vhost_user_frontend *fe;
	struct virtio_device *vdev;
	struct virtqueue *rx, *tx;
	uint8_t *rx_buf[RX_BUFS];
};

static const struct virtio_device_id raw_ids[] = {{VIRTIO_ID_NET, VIRTIO_DEV_ANY_ID}, {0, 0}};

static struct raw *raw_of(struct virtio_device *vdev)
{
	return (struct raw *)(void *)((char *)vdev->driver - offsetof(struct raw, drv));
}

static void raw_cb(struct virtqueue *vq)
{
	(void)vq;
}

static int raw_probe(struct virtio_device *vdev)
{
	struct raw *r = raw_of(vdev);
	virtqueue_callback *cbs[2] = {raw_cb, raw_cb};
	const char *const names[2] = {"rx", "tx"};
	struct virtqueue *vqs[2];
	int err = vdev->config->find_vqs(vdev, 2, vqs, cbs, names);

	if (err)
		return err;
	r->vdev = vdev;
	r->rx = vqs[0];
	r->tx = vqs[1];
	return 0;
}

static void raw_remove(struct virtio_device *vdev)
{
	(void)vdev;
}

static void raw_connect(struct raw *r, const char *sock)
{
	struct vhost_user_frontend_options o = {.socket_path = sock, .device_id = VIRTIO_ID_NET};
	unsigned int f[] = {VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_MAC,
			    VIRTIO_NET_F_MTU};

	memset(r, 0, sizeof(*r));
	memcpy(r->features, f, sizeof(f));
	r->drv.name = "raw-net";
	r->drv.id_table = raw_ids;
	r->drv.feature_table = r->features;
	r->drv.feature_table_size = 4;
	r->drv.probe = raw_probe;
	r->drv.remove = raw_remove;
	virtio_bus_init(&r->bus);
	assert_int_equal(virtio_register_driver(&r->bus, &r->drv), 0);
	assert_int_equal(vireo_vhost_user_frontend_new(&r->fe, &r->bus, &o), 0);
	assert_non_null(r->vdev);
	assert_true(virtio_has_feature(r->vdev, VIRTIO_NET_F_CSUM));
}

static void raw_close(struct raw *r)
{
	vireo_vhost_user_frontend_free(r->fe);
	virtio_unregister_driver(&r->bus, &r->drv);
}

static void *raw_dma(struct raw *r, size_t len, uint64_t *addr)
{
	void *p = virtio_dma_alloc(r->vdev->dma, len, 64, addr);

	assert_non_null(p);
	return p;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Post every receive buffer of the receiver once. */
static void raw_post_rx(struct raw *r)
{
	for (unsigned int i = 0; i < RX_BUFS; i++) {
		uint64_t a;

		r->rx_buf[i] = raw_dma(r, RX_BUF_SIZE, &a);
		struct virtio_sg sg = {.addr = a, .len = RX_BUF_SIZE};

		assert_int_equal(virtqueue_add_sgs(r->rx, &sg, 0, 1, r->rx_buf[i]), 0);
	}
	virtqueue_kick(r->rx);
}

/* Wait up to @ms for a used receive buffer. Return: the frame (after the header), or NULL. */
static uint8_t *raw_wait_rx(struct raw *r, long ms, uint32_t *len)
{
	for (long t = 0; t < ms; t += 5) {
		uint8_t *b = virtqueue_get_buf(r->rx, len);

		if (b) {
			struct virtio_sg sg = {.addr = virtio_dma_addr(r->vdev->dma, b),
					       .len = RX_BUF_SIZE};

			assert_true(*len >= HDR);
			*len -= HDR;
			assert_int_equal(virtqueue_add_sgs(r->rx, &sg, 0, 1, b), 0);
			virtqueue_kick(r->rx);
			return b + HDR;
		}
		sleep_ms(5);
	}
	return NULL;
}

/* Put @sg on the sender's transmit queue, kick, wait until it is used (len 0). */
static void raw_tx_sg(struct raw *r, const struct virtio_sg *sg, unsigned int out, unsigned int in)
{
	uint32_t len = 1;
	int token;

	assert_int_equal(virtqueue_add_sgs(r->tx, sg, out, in, &token), 0);
	virtqueue_kick(r->tx);
	for (int t = 0; t < 2000; t += 5) {
		if (virtqueue_get_buf(r->tx, &len) == &token) {
			assert_int_equal(len, 0);
			return;
		}
		sleep_ms(5);
	}
	fail_msg("transmit chain never used");
}

static void make_frame(uint8_t *f, uint32_t len, uint8_t seed)
{
	static const uint8_t dst[6] = {0x02, 0, 0, 0, 0x77, 0x01}; /* unknown: flooded */
	static const uint8_t src[6] = {0x02, 0, 0, 0, 0x77, 0x02};

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (uint32_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i + seed);
}

/* Header + frame in one DMA buffer, split into descriptors at @cuts. */
static void raw_tx(struct raw *r, const struct vireo_net_hdr_v1 *hdr, uint32_t len, uint8_t seed,
		   const uint32_t *cuts, unsigned int ncuts)
{
	uint64_t a;
	uint8_t *p = raw_dma(r, HDR + len, &a);
	struct virtio_sg sg[8];
	uint32_t prev = 0;

	memcpy(p, hdr, HDR);
	make_frame(p + HDR, len, seed);
	for (unsigned int i = 0; i <= ncuts; i++) {
		uint32_t end = i < ncuts ? cuts[i] : HDR + len;

		sg[i] = (struct virtio_sg){.addr = a + prev, .len = end - prev};
		prev = end;
	}
	raw_tx_sg(r, sg, ncuts + 1, 0);
	virtio_dma_free(r->vdev->dma, p);
}

/* The next frame @rx receives is the 100-byte frame of @seed, byte-exact. */
static void expect_arrived(struct raw *rx, uint8_t seed)
{
	uint8_t want[100];
	uint32_t len;
	uint8_t *got;

	got = raw_wait_rx(rx, 3000, &len);
	assert_non_null(got);
	make_frame(want, sizeof(want), seed);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
}

/* A good 100-byte frame from @tx must reach @rx, byte-exact; nothing else before it. */
static void expect_good(struct raw *tx, struct raw *rx, uint8_t seed)
{
	static const struct vireo_net_hdr_v1 zero;

	raw_tx(tx, &zero, 100, seed, NULL, 0);
	expect_arrived(rx, seed);
}

struct server {
	struct vireo_proc proc;
	char sock[2][96];
};

static void server_start(struct server *s)
{
	vireo_proc_dir(&s->proc);
	for (int i = 0; i < 2; i++)
		snprintf(s->sock[i], sizeof(s->sock[i]), "%s/p%d.sock", s->proc.dir, i + 1);

	const char *args[] = {"serve", "net", "--socket", s->sock[0], "--socket", s->sock[1], NULL};

	vireo_proc_start(&s->proc, args, s->sock[1]);
}

/* SIGTERM, wait; Return: the server's whole output. */
static char *server_stop(struct server *s, int *status)
{
	char *out = vireo_proc_stop(&s->proc, status);

	unlink(s->sock[0]);
	unlink(s->sock[1]);
	vireo_proc_cleanup(&s->proc);
	return out;
}

/* "reason N" inside port1's drop line. */
static void expect_count(const char *out, const char *reason, unsigned int n)
{
	char want[64];

	snprintf(want, sizeof(want), " %s %u", reason, n);
	if (!strstr(out, want))
		fail_msg("no '%s' in the counters:\n%s", want, out);
}

static void send_hostile(struct raw *tx, struct raw *rx)
{
	struct vireo_net_hdr_v1 h = {0};
	static const uint32_t split[] = {3, 7, 12, 40};
	uint64_t a;
	uint8_t *p = raw_dma(tx, 256, &a);
	struct virtio_sg sg[2] = {{.addr = a, .len = 8}};

	raw_tx_sg(tx, sg, 1, 0); /* shorter than the header */
	expect_good(tx, rx, 1);
	raw_tx(tx, &h, 10, 2, NULL, 0); /* runt */
	expect_good(tx, rx, 3);
	raw_tx(tx, &h, 1600, 4, NULL, 0); /* above MTU 1500 + 18 */
	expect_good(tx, rx, 5);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = cpu_to_le16(98);
	h.csum_offset = cpu_to_le16(1); /* field at 99..100: past a 100-byte frame */
	raw_tx(tx, &h, 100, 6, NULL, 0);
	expect_good(tx, rx, 7);
	h = (struct vireo_net_hdr_v1){.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				      .gso_size = cpu_to_le16(1000)}; /* no NEEDS_CSUM */
	raw_tx(tx, &h, 1200, 8, NULL, 0);
	expect_good(tx, rx, 9);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP; /* never offered */
	raw_tx(tx, &h, 1200, 10, NULL, 0);
	expect_good(tx, rx, 11);
	sg[0].len = 60;
	memset(p, 0, HDR);
	sg[1] = (struct virtio_sg){.addr = a + 64, .len = 64}; /* writable in a transmit chain */
	raw_tx_sg(tx, sg, 1, 1);
	expect_good(tx, rx, 12);
	/* A legal frame whose header is split mid-field arrives intact. */
	h = (struct vireo_net_hdr_v1){0};
	raw_tx(tx, &h, 100, 13, split, 4);
	expect_arrived(rx, 13);
	virtio_dma_free(tx->vdev->dma, p);
}

/* A server with both ports connected: @tx raw sender on port 1, @rx raw receiver on port 2. */
static void session_open(struct server *s, struct raw *tx, struct raw *rx)
{
	server_start(s);
	raw_connect(tx, s->sock[0]);
	raw_connect(rx, s->sock[1]);
	raw_post_rx(rx);
}

/* Disconnect both, stop the server; it must exit 0. Return: its output. */
static char *session_close(struct server *s, struct raw *tx, struct raw *rx)
{
	char *out;
	int status;

	raw_close(tx);
	raw_close(rx);
	out = server_stop(s, &status);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("vireo serve net exited %d:\n%s", WEXITSTATUS(status), out);
	return out;
}

static void test_hostile_frames_counted(void **state)
{
	struct server s;
	struct raw tx, rx;
	uint32_t len;
	char *out;

	(void)state;
	session_open(&s, &tx, &rx);
	send_hostile(&tx, &rx);
	assert_null(raw_wait_rx(&rx, 200, &len)); /* nothing else came through */
	out = session_close(&s, &tx, &rx);
	expect_count(out, "tx-short-header", 1);
	expect_count(out, "tx-runt", 1);
	expect_count(out, "tx-oversize", 1);
	expect_count(out, "tx-bad-csum", 1);
	expect_count(out, "tx-bad-gso", 2);
	expect_count(out, "tx-writable", 1);
}

/* A descriptor outside the front-end's memory breaks that port only; a new front-end recovers. */
static void test_ring_violation_isolated(void **state)
{
	struct virtio_sg sg = {.addr = 0xdead0000000ull, .len = 64};
	struct server s;
	struct raw tx, rx;
	char *out;

	(void)state;
	session_open(&s, &tx, &rx);
	expect_good(&tx, &rx, 20);
	assert_int_equal(virtqueue_add_sgs(tx.tx, &sg, 1, 0, &sg), 0);
	virtqueue_kick(tx.tx);
	sleep_ms(300);
	raw_close(&tx);
	raw_connect(&tx, s.sock[0]); /* the port serves the next front-end */
	expect_good(&tx, &rx, 21);
	out = session_close(&s, &tx, &rx);
	if (!strstr(out, "needs reset"))
		fail_msg("no 'needs reset' in the output:\n%s", out);
}

/*
 * vhost-user "Ring states" through the real server (D-VU-02..04): port 1's transmit ring
 * disabled -> its frames are used and discarded; port 2's receive ring disabled -> nothing
 * arrives; enabled again -> frames flow.
 */
static void test_disabled_rings_discard(void **state)
{
	static const struct vireo_net_hdr_v1 zero;
	struct server s;
	struct raw tx, rx;
	uint32_t len;
	char *out;

	(void)state;
	session_open(&s, &tx, &rx);
	expect_good(&tx, &rx, 30);
	assert_int_equal(vireo_vhost_user_frontend_set_vring_enable(tx.fe, 1, false), 0);
	raw_tx(&tx, &zero, 100, 31, NULL, 0); /* used (len 0), not sent */
	assert_null(raw_wait_rx(&rx, 300, &len));
	assert_int_equal(vireo_vhost_user_frontend_set_vring_enable(tx.fe, 1, true), 0);
	expect_good(&tx, &rx, 32);
	assert_int_equal(vireo_vhost_user_frontend_set_vring_enable(rx.fe, 0, false), 0);
	raw_tx(&tx, &zero, 100, 33, NULL, 0); /* sent; port 2 takes none */
	assert_null(raw_wait_rx(&rx, 300, &len));
	assert_int_equal(vireo_vhost_user_frontend_set_vring_enable(rx.fe, 0, true), 0);
	expect_good(&tx, &rx, 34);
	assert_int_equal(vireo_vhost_user_frontend_set_vring_enable(rx.fe, 7, true), -EINVAL);
	out = session_close(&s, &tx, &rx);
	expect_count(out, "tx-disabled", 1);
	expect_count(out, "rx-not-ready", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_frames_counted),
		cmocka_unit_test(test_ring_violation_isolated),
		cmocka_unit_test(test_disabled_rings_discard),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
