// SPDX-License-Identifier: MIT
/*
 * Memory-table changes and ring restarts under a steady stream of I/O, on the
 * devices test_vhost_user_hostile_memory does not cover: the real `vireo serve
 * rng` and `vireo serve net` (the ASan build runs the ASan binary). A front-end
 * keeps requests (rng) or frames (net, from port 1 to port 2) flowing while it
 * sends SET_MEM_TABLE (a fresh mapping of the same memfd: the old one is
 * unmapped) and stops/restarts rings (GET_VRING_BASE, SET_VRING_BASE/ADDR, a
 * new kick fd) for a few seconds. Every request must be answered once with
 * what it asked for, every frame that arrives must be byte-exact, nothing may
 * touch an unmapped page, and afterwards a fresh front-end is served, the
 * server is back to its idle fds and SIGTERM exits 0 without a sanitizer
 * report. (Why net and rng have no queue_stop: docs/threat-model.md, class 1.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "tests/lib/fd_count.h"
#include "tests/lib/poll_until.h"
#include "tests/lib/serve_proc.h"
#include "tests/lib/vu_client.h"

#define CHURN_SECONDS 3
#define DEPTH 8u
#define RNG_LEN 64u
#define NET_HDR 12u
#define NET_FRAME 200u
#define NET_BUF 2048u
#define FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES))
#define DEADLINE_MS 5000u

/* One front-end with the rings it uses. */
struct port {
	struct vu_client c;
	struct vu_ring rx, tx; /* rng: rx only */
	uint8_t *buf[DEPTH];
	uint64_t ga[DEPTH];
};

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L}, NULL);
}

struct idle_query {
	const struct serve_proc *server;
	unsigned int idle;
};

static bool server_is_idle(void *arg)
{
	const struct idle_query *q = arg;

	return serve_proc_fds(q->server) == q->idle;
}

/* Bounded wait for the server to close what a front-end left, then compare. */
static void expect_idle(const struct serve_proc *s, unsigned int idle)
{
	struct idle_query q = {.server = s, .idle = idle};

	poll_until(server_is_idle, &q, 5000);
	assert_int_equal(serve_proc_fds(s), idle);
}

static void port_open(struct port *p, const char *sock, unsigned int queues, bool tx)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	vu_client_connect(&p->c, sock);
	vu_client_negotiate_queues(&p->c, FEATURES, queues);
	vu_client_mem(&p->c);
	vu_ring_start(&p->rx, &p->c, 0);
	if (tx)
		vu_ring_start(&p->tx, &p->c, 1);
	for (i = 0; i < DEPTH; i++) {
		p->buf[i] = virtio_dma_alloc(&p->c.arena, NET_BUF, 64, &p->ga[i]);
		assert_non_null(p->buf[i]);
	}
}

static void port_close(struct port *p, bool tx)
{
	vu_ring_close(&p->rx);
	if (tx)
		vu_ring_close(&p->tx);
	vu_client_close(&p->c);
}

/* Post receive buffer @i (rng: @len bytes to fill; net: a whole frame's room). */
static void post_rx(struct port *p, unsigned int i, uint32_t len)
{
	struct virtio_sg sg = {.addr = p->ga[i], .len = len};

	memset(p->buf[i], 0xee, len);
	assert_int_equal(virtqueue_add_sgs(&p->rx.vq, &sg, 0, 1, (void *)(uintptr_t)(i + 1)), 0);
}

/* A used receive buffer, or -1. */
static int take_rx(struct port *p, uint32_t *len)
{
	void *token = virtqueue_get_buf(&p->rx.vq, len);

	assert_false(virtqueue_is_broken(&p->rx.vq));
	return token ? (int)(uintptr_t)token - 1 : -1;
}

/* One of the churn steps, in turn. */
static void churn(struct port *a, struct port *b, unsigned int round)
{
	switch (round % 4) {
	case 0:
		vu_client_mem(&a->c);
		break;
	case 1:
		vu_ring_restart(&a->rx);
		break;
	case 2:
		if (b)
			vu_client_mem(&b->c);
		else
			vu_client_mem(&a->c);
		break;
	default:
		vu_ring_restart(b ? &b->rx : &a->rx);
		break;
	}
}

static void test_rng_churn(void **state)
{
	unsigned int i, idle, round = 0;
	unsigned long answered = 0;
	struct serve_proc s;
	const char *out;
	struct port p;
	uint32_t len;
	time_t end;
	int slot;

	(void)state;
	serve_proc_start(&s, "rng", 1, NULL, DEADLINE_MS);
	idle = serve_proc_fds(&s);
	port_open(&p, s.sock[0], 1, false);
	for (i = 0; i < DEPTH; i++)
		post_rx(&p, i, RNG_LEN);
	virtqueue_kick(&p.rx.vq);
	end = time(NULL) + CHURN_SECONDS;
	while (time(NULL) < end) {
		churn(&p, NULL, round++);
		while ((slot = take_rx(&p, &len)) >= 0) {
			/* virtio-rng fills the whole buffer; each one once. */
			assert_int_equal(len, RNG_LEN);
			answered++;
			post_rx(&p, (unsigned int)slot, RNG_LEN);
		}
		virtqueue_kick(&p.rx.vq);
	}
	print_message("# rng: %u memory-table changes or ring restarts, %lu requests answered\n",
		      round, answered);
	assert_true(answered > round / 4);
	port_close(&p, false);
	expect_idle(&s, idle);
	/* A fresh front-end is served. */
	port_open(&p, s.sock[0], 1, false);
	post_rx(&p, 0, RNG_LEN);
	virtqueue_kick(&p.rx.vq);
	for (i = 0; i < 500 && (slot = take_rx(&p, &len)) < 0; i++)
		sleep_ms(10);
	assert_int_equal(slot, 0);
	assert_int_equal(len, RNG_LEN);
	port_close(&p, false);
	expect_idle(&s, idle);
	out = serve_proc_stop(&s);
	/* Its counters at exit: every request the front-end saw answered, and the fresh one. */
	assert_non_null(strstr(out, "vireo serve rng: queue 0: requests "));
	assert_true(strtoull(strstr(out, "queue 0: requests ") + 18, NULL, 10) >= answered + 1);
}

/* Frame @seq: to an unknown MAC (flooded to port 2), payload from @seq. */
static void make_frame(uint8_t *f, uint32_t seq)
{
	static const uint8_t mac[12] = {2, 0, 0, 0, 0x77, 1, 2, 0, 0, 0, 0x77, 2};

	memset(f, 0, NET_HDR);
	memcpy(f + NET_HDR, mac, sizeof(mac));
	f[NET_HDR + 12] = 0x88;
	f[NET_HDR + 13] = 0xb5;
	memcpy(f + NET_HDR + 14, &seq, sizeof(seq));
	for (uint32_t i = 18; i < NET_FRAME; i++)
		f[NET_HDR + i] = (uint8_t)(seq * 31 + i);
}

static void send_frame(struct port *p, unsigned int i, uint32_t seq)
{
	struct virtio_sg sg = {.addr = p->ga[i], .len = NET_HDR + NET_FRAME};

	make_frame(p->buf[i], seq);
	assert_int_equal(virtqueue_add_sgs(&p->tx.vq, &sg, 1, 0, (void *)(uintptr_t)(i + 1)), 0);
}

/* A received frame is exactly one that was sent. Return: its sequence number. */
static uint32_t check_frame(const uint8_t *buf, uint32_t len)
{
	uint8_t want[NET_HDR + NET_FRAME];
	uint32_t seq;

	assert_int_equal(len, NET_HDR + NET_FRAME);
	memcpy(&seq, buf + NET_HDR + 14, sizeof(seq));
	make_frame(want, seq);
	assert_memory_equal(buf + NET_HDR, want + NET_HDR, NET_FRAME);
	return seq;
}

/* Reap port 1's sent frames and send new ones; reap and check port 2's. */
static unsigned long net_pump(struct port *a, struct port *b, uint32_t *seq)
{
	unsigned long got = 0;
	uint32_t len;
	void *token;
	int slot;

	while ((token = virtqueue_get_buf(&a->tx.vq, &len)))
		send_frame(a, (unsigned int)(uintptr_t)token - 1, (*seq)++);
	assert_false(virtqueue_is_broken(&a->tx.vq));
	virtqueue_kick(&a->tx.vq);
	while ((slot = take_rx(b, &len)) >= 0) {
		(void)check_frame(b->buf[slot], len);
		got++;
		post_rx(b, (unsigned int)slot, NET_BUF);
	}
	virtqueue_kick(&b->rx.vq);
	return got;
}

static void test_net_churn(void **state)
{
	unsigned int i, idle, round = 0;
	unsigned long received = 0;
	struct port a, b;
	struct serve_proc s;
	uint32_t seq = 0;
	time_t end;

	(void)state;
	serve_proc_start(&s, "net", 2, NULL, DEADLINE_MS);
	idle = serve_proc_fds(&s);
	/* rx, tx and the control queue (CTRL_VQ is offered). */
	port_open(&a, s.sock[0], 3, true);
	port_open(&b, s.sock[1], 3, false);
	for (i = 0; i < DEPTH; i++) {
		post_rx(&b, i, NET_BUF);
		send_frame(&a, i, seq++);
	}
	virtqueue_kick(&b.rx.vq);
	virtqueue_kick(&a.tx.vq);
	end = time(NULL) + CHURN_SECONDS;
	while (time(NULL) < end) {
		churn(&a, &b, round++);
		if (round % 8 == 0)
			vu_ring_restart(&a.tx);
		received += net_pump(&a, &b, &seq);
	}
	print_message("# net: %u memory-table changes or ring restarts, %u frames sent, "
		      "%lu received intact\n",
		      round, seq, received);
	assert_true(received > 0);
	port_close(&a, true);
	port_close(&b, false);
	expect_idle(&s, idle);
	/* Fresh front-ends: a frame goes through. */
	port_open(&a, s.sock[0], 3, true);
	port_open(&b, s.sock[1], 3, false);
	post_rx(&b, 0, NET_BUF);
	virtqueue_kick(&b.rx.vq);
	send_frame(&a, 0, 4242);
	virtqueue_kick(&a.tx.vq);
	for (i = 0; i < 500; i++) {
		uint32_t len;
		int slot = take_rx(&b, &len);

		if (slot >= 0) {
			assert_int_equal(check_frame(b.buf[slot], len), 4242);
			break;
		}
		sleep_ms(10);
	}
	assert_true(i < 500);
	port_close(&a, true);
	port_close(&b, false);
	expect_idle(&s, idle);
	(void)serve_proc_stop(&s);
}

/*
 * A receive ring that is full and not read (every buffer posted, the guest
 * busy): frames beyond it are dropped and counted, nothing hangs, and once the
 * receiver reads again the flow resumes.
 */
static void test_net_full_rx_ring(void **state)
{
	unsigned int i, idle, used = 0, sent = 0;
	struct serve_proc s;
	struct port a, b;
	uint32_t seq = 0, len;
	const char *out;
	void *token;
	int slot;

	(void)state;
	serve_proc_start(&s, "net", 2, NULL, DEADLINE_MS);
	idle = serve_proc_fds(&s);
	port_open(&a, s.sock[0], 3, true);
	port_open(&b, s.sock[1], 3, false);
	for (i = 0; i < DEPTH; i++)
		post_rx(&b, i, NET_BUF);
	virtqueue_kick(&b.rx.vq);
	/* Three ring-fulls of frames at a receiver that does not read. */
	while (sent < 3 * DEPTH) {
		for (i = 0; i < DEPTH && sent < 3 * DEPTH; i++, sent++)
			send_frame(&a, i, seq++);
		virtqueue_kick(&a.tx.vq);
		for (i = 0; i < DEPTH;) {
			token = virtqueue_get_buf(&a.tx.vq, &len);
			if (token)
				i++;
			else
				sleep_ms(1);
		}
	}
	/* Exactly the posted buffers were filled, the first frames sent. */
	for (i = 0; i < 500 && used < DEPTH; i++) {
		slot = take_rx(&b, &len);
		if (slot < 0) {
			sleep_ms(10);
			continue;
		}
		assert_int_equal(check_frame(b.buf[slot], len), used);
		used++;
	}
	assert_int_equal(used, DEPTH);
	assert_int_equal(take_rx(&b, &len), -1);
	/* Reading again: the flow resumes. */
	post_rx(&b, 0, NET_BUF);
	virtqueue_kick(&b.rx.vq);
	send_frame(&a, 0, 777);
	virtqueue_kick(&a.tx.vq);
	for (i = 0; i < 500 && (slot = take_rx(&b, &len)) < 0; i++)
		sleep_ms(10);
	assert_int_equal(slot, 0);
	assert_int_equal(check_frame(b.buf[0], len), 777);
	port_close(&a, true);
	port_close(&b, false);
	expect_idle(&s, idle);
	out = serve_proc_stop(&s);
	/* The dropped ones are counted as such: two ring-fulls. */
	if (!strstr(out, " rx-no-buffer 16"))
		fail_msg("no ' rx-no-buffer 16' in the counters:\n%s", out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng_churn),
		cmocka_unit_test(test_net_churn),
		cmocka_unit_test(test_net_full_rx_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
