// SPDX-License-Identifier: MIT
/*
 * `vireo serve net` at its most: 16 ports of 8 queue pairs each, one event loop. Every
 * port's front-end (honest: the QEMU sequence) starts all 17 of its rings; each ring's
 * kick fd needs a handler in the loop, beside each port's socket, deadline timer and
 * back-end channel. With 128 handlers the seventh port of eight was closed ("cannot watch
 * kick fd", an outside review); tools/serve_net.h now checks the sum at build time, and
 * this test runs it: every ring of every port started, no connection closed, the server
 * exits 0 after SIGTERM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vireo/spec.h>
#include <vireo/vhost_user.h>

#include "tests/lib/vireo_proc.h"
#include "tests/lib/vu_client.h"

#define PORTS 16u
#define PAIRS 8u
#define RINGS (2u * PAIRS + 1u) /* the data queues and the control queue */

static void test_every_port_every_ring(void **state)
{
	static struct vu_client clients[PORTS];
	static struct vu_ring rings[PORTS][RINGS];
	static char socks[PORTS][96];
	const uint64_t features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
				  VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES) |
				  VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ);
	const char *args[5 + 2 * PORTS + 1] = {"serve", "net", "--queue-pairs", "8"};
	struct vireo_proc proc;
	unsigned int n = 4, i, q;
	int status;
	char *out;

	(void)state;
	vireo_proc_dir(&proc);
	for (i = 0; i < PORTS; i++) {
		snprintf(socks[i], sizeof(socks[i]), "%s/p%u.sock", proc.dir, i);
		args[n++] = "--socket";
		args[n++] = socks[i];
	}
	args[n] = NULL;
	vireo_proc_start(&proc, args, socks[PORTS - 1]);
	for (i = 0; i < PORTS; i++) {
		vu_client_connect(&clients[i], socks[i]);
		vu_client_negotiate_queues(&clients[i], features, RINGS);
		vu_client_mem(&clients[i]);
		/* Each start is acknowledged (REPLY_ACK 0), or the helper fails the test. */
		for (q = 0; q < RINGS; q++)
			vu_ring_start(&rings[i][q], &clients[i], q);
	}
	for (i = 0; i < PORTS; i++)
		vu_client_close(&clients[i]);
	out = vireo_proc_stop(&proc, &status);
	if (strstr(out, "closing") || strstr(out, "cannot watch"))
		fail_msg("a port was closed:\n%s", out);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < PORTS; i++)
		unlink(socks[i]);
	vireo_proc_cleanup(&proc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_port_every_ring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
