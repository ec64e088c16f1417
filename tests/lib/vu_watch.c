// SPDX-License-Identifier: MIT
/* A watched vhost-user blk back-end for hostile front-ends: see vu_watch.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vireo/vhost_user_backend.h>

#include "tests/lib/fd_count.h"
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
	w->client.sock = w->saved_stderr = w->log_fd = -1;
	w->fds_before = fd_count_open();
	pthread_mutex_init(&w->lock, NULL);
	vu_blk_fixture_start(&w->fx, dir_template, bo, &vo);
}

/* Give the back-end's stderr back (if captured). */
static void vu_watch_log_restore(struct vu_watch *w)
{
	if (w->saved_stderr < 0)
		return;
	fflush(stderr);
	(void)dup2(w->saved_stderr, STDERR_FILENO);
	close(w->saved_stderr);
	close(w->log_fd);
	w->saved_stderr = w->log_fd = -1;
}

/* Close the client, restore the log and remove its file: the end of any exchange. */
static void vu_watch_end(struct vu_watch *w)
{
	if (w->client.sock >= 0)
		vu_client_close(&w->client);
	w->client.sock = -1;
	vu_watch_log_restore(w);
	if (w->log_path[0])
		unlink(w->log_path);
	w->log_path[0] = '\0';
}

void vu_watch_recover(struct vu_watch *w)
{
	char line[512];
	FILE *f;

	if (w->saved_stderr < 0)
		return;
	vu_watch_log_restore(w);
	/* cmocka's failure message went to the captured log with the back-end's lines. */
	f = fopen(w->log_path, "re");
	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "# (captured) %s", line);
	if (f)
		fclose(f);
	vu_watch_end(w);
}

void vu_watch_stop(struct vu_watch *w)
{
	vu_watch_recover(w);
	vu_blk_fixture_stop(&w->fx);
	pthread_mutex_destroy(&w->lock);
	assert_int_equal(fd_count_open(), w->fds_before);
}

struct vu_client *vu_watch_begin(struct vu_watch *w)
{
	w->disconnects_before = vu_watch_disconnects(w);
	strcpy(w->log_path, "/tmp/vireo-vuw-log-XXXXXX");
	w->log_fd = mkstemp(w->log_path);
	assert_true(w->log_fd >= 0);
	fflush(stderr);
	w->saved_stderr = dup(STDERR_FILENO);
	assert_true(w->saved_stderr >= 0);
	assert_true(dup2(w->log_fd, STDERR_FILENO) >= 0);
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

/* Lines in @path that contain @what. */
static unsigned int vu_watch_count_lines(const char *path, const char *what)
{
	FILE *f = fopen(path, "re");
	char line[512];
	unsigned int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

void vu_watch_expect_closed(struct vu_watch *w, const char *why)
{
	char reason[sizeof(w->reason)];

	vu_client_expect_closed(&w->client);
	snprintf(reason, sizeof(reason), "%s",
		 vu_watch_wait_disconnect(w, w->disconnects_before + 1));
	vu_watch_log_restore(w);
	assert_string_equal(reason, why);
	assert_int_equal(vu_watch_count_lines(w->log_path, "vhost-user"), 1);
	assert_int_equal(vu_watch_count_lines(w->log_path, "closing"), 1);
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
