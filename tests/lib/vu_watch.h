/* SPDX-License-Identifier: MIT */
/*
 * A vu_blk_fixture whose back-end is watched: every disconnection's reason is
 * kept, and a hostile exchange runs with the back-end's log in a file, so a
 * test can check that the connection was closed for the one reason it
 * provoked, with one log line. Helpers assert (cmocka). Used by
 * test_vhost_user_vring_state and test_vhost_user_hostile_requests.
 */
#ifndef VIREO_TESTS_VU_WATCH_H
#define VIREO_TESTS_VU_WATCH_H

#include <pthread.h>

#include <vireo/blk_device.h>
#include <vireo/vhost_user_backend.h>

#include "tests/lib/log_capture.h"
#include "tests/lib/vu_blk_fixture.h"
#include "tests/lib/vu_client.h"

struct vu_watch {
	struct vu_blk_fixture fx;
	pthread_mutex_t lock;
	unsigned long disconnects;
	char reason[128]; /* of the last disconnection */
	/* the hostile exchange in progress; vu_watch_stop() undoes it if an assert cut it short */
	struct vu_client client;
	unsigned long disconnects_before;
	struct log_capture log;
};

/*
 * Start the server: fixture folder from @dir_template, device options @bo,
 * back-end options @options (NULL: defaults; its callbacks are the watch's).
 */
void vu_watch_start(struct vu_watch *w, const char *dir_template, struct blk_device_options *bo,
		    const struct vhost_user_backend_options *options);

/*
 * End an exchange an assert cut short, if any: close its client, give stderr
 * back and print what was captured meanwhile (cmocka's message among it).
 * For a teardown that still talks to the server.
 */
void vu_watch_recover(struct vu_watch *w);

/* vu_watch_recover(), then stop; every fd a front-end sent or the server opened is closed. */
void vu_watch_stop(struct vu_watch *w);

/* A hostile front-end: @w->client connected, the back-end's log captured. Return: the client. */
struct vu_client *vu_watch_begin(struct vu_watch *w);

/*
 * The server closed the hostile front-end's connection: @why is the reason it
 * gave, in exactly one vhost-user log line ("... closing"). Ends the exchange.
 */
void vu_watch_expect_closed(struct vu_watch *w, const char *why);

/* The hostile front-end is still connected (no disconnection so far). Ends the exchange. */
void vu_watch_end_connected(struct vu_watch *w);

#endif /* VIREO_TESTS_VU_WATCH_H */
