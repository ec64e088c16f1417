// SPDX-License-Identifier: MIT
/* A watched vhost-user blk back-end for hostile front-ends: see vu_watch.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <vireo/vhost_user_backend.h>

#include "tests/lib/vu_watch.h"

static void vu_watch_on_disconnect(void *opaque, unsigned long conn, const char *reason)
{
	struct vu_watch *w = opaque;

	(void)conn;
	pthread_mutex_lock(&w->lock);
	snprintf(w->reason, sizeof(w->reason), "%s", reason ? reason : "(peer closed)");
	w->disconnects++;
	pthread_mutex_unlock(&w->lock);
}

static unsigned long vu_watch_disconnects(struct vu_watch *w)
{
	unsigned long d;

	pthread_mutex_lock(&w->lock);
	d = w->disconnects;
	pthread_mutex_unlock(&w->lock);
	return d;
}

void vu_watch_start(struct vu_watch *w, const char *dir_template, struct blk_device_options *bo,
		    const struct vhost_user_backend_options *options)
{
	struct vhost_user_backend_options vo = {0};

	if (options)
		vo = *options;
	vo.on_disconnect = vu_watch_on_disconnect;
	vo.opaque = w;

	memset(w, 0, sizeof(*w));
	w->client.sock = -1;
	w->log = (struct log_capture)LOG_CAPTURE_INIT;
	pthread_mutex_init(&w->lock, NULL);
	vu_blk_fixture_start(&w->fx, dir_template, bo, &vo);
}

/* Close the client, restore the log and remove its file: the end of any exchange. */
static void vu_watch_end(struct vu_watch *w)
{
	if (w->client.sock >= 0)
		vu_client_close(&w->client);
	w->client.sock = -1;
	log_capture_remove(&w->log);
}

void vu_watch_recover(struct vu_watch *w)
{
	if (!log_capture_active(&w->log))
		return;
	/* cmocka's failure message went to the captured log with the back-end's lines. */
	log_capture_end(&w->log);
	log_capture_replay(&w->log);
	vu_watch_end(w);
}

void vu_watch_stop(struct vu_watch *w)
{
	vu_watch_recover(w);
	log_capture_remove(&w->log); /* an assert after the capture ended left its file */
	vu_blk_fixture_stop_closed(&w->fx);
	pthread_mutex_destroy(&w->lock);
}

struct vu_client *vu_watch_begin(struct vu_watch *w)
{
	w->disconnects_before = vu_watch_disconnects(w);
	log_capture_begin(&w->log);
	vu_client_connect(&w->client, w->fx.sock);
	return &w->client;
}

/* Bounded wait for disconnection number @n; Return: its reason. */
static const char *vu_watch_wait_disconnect(struct vu_watch *w, unsigned long n)
{
	for (int i = 0; i < VU_WAIT_MS; i++) {
		if (vu_watch_disconnects(w) >= n)
			return w->reason;
		usleep(1000);
	}
	fail_msg("the back-end never reported the disconnection");
	return NULL;
}

void vu_watch_expect_closed(struct vu_watch *w, const char *why)
{
	char reason[sizeof(w->reason)];

	vu_client_expect_closed(&w->client);
	snprintf(reason, sizeof(reason), "%s",
		 vu_watch_wait_disconnect(w, w->disconnects_before + 1));
	log_capture_end(&w->log);
	assert_string_equal(reason, why);
	assert_int_equal(log_capture_count(&w->log, "vhost-user"), 1);
	assert_int_equal(log_capture_count(&w->log, "closing"), 1);
	vu_watch_end(w);
}

void vu_watch_end_connected(struct vu_watch *w)
{
	assert_int_equal(vu_watch_disconnects(w), w->disconnects_before);
	vu_client_close(&w->client);
	w->client.sock = -1;
	(void)vu_watch_wait_disconnect(w, w->disconnects_before + 1);
	vu_watch_end(w);
}
