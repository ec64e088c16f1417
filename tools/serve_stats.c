// SPDX-License-Identifier: MIT
/* `vireo serve blk|rng` counters, as text or JSON (serve_stats.h). */
#include <inttypes.h>

#include "tools/serve_stats.h"

static void serve_stats_blk_text(unsigned int q, const struct blk_device_queue_stats *st, FILE *out)
{
	unsigned int k;

	fprintf(out, "vireo serve blk: queue %u: requests", q);
	for (k = 0; k < BLK_DEVICE_REQ_KINDS; k++)
		fprintf(out, " %s %" PRIu64, vireo_blk_device_request_kind_name(k),
			st->requests[k]);
	fprintf(out,
		", bytes read %" PRIu64 " written %" PRIu64 ", errors %" PRIu64 ", kicks %" PRIu64
		", calls %" PRIu64 ", in flight %u\n",
		st->bytes_read, st->bytes_written, st->errors, st->kicks, st->calls, st->in_flight);
}

static void serve_stats_blk_json(unsigned int q, const struct blk_device_queue_stats *st, FILE *out)
{
	unsigned int k;

	fprintf(out, "%s{\"queue\":%u,\"requests\":{", q ? "," : "", q);
	for (k = 0; k < BLK_DEVICE_REQ_KINDS; k++)
		fprintf(out, "%s\"%s\":%" PRIu64, k ? "," : "",
			vireo_blk_device_request_kind_name(k), st->requests[k]);
	fprintf(out,
		"},\"bytes_read\":%" PRIu64 ",\"bytes_written\":%" PRIu64 ",\"errors\":%" PRIu64
		",\"kicks\":%" PRIu64 ",\"calls\":%" PRIu64 ",\"in_flight\":%u}",
		st->bytes_read, st->bytes_written, st->errors, st->kicks, st->calls, st->in_flight);
}

bool serve_stats_iotlb_used(const struct vhost_user_backend_iotlb_stats *iotlb)
{
	return iotlb->active || iotlb->updates || iotlb->misses || iotlb->hits;
}

/* hit rate: hits / (hits + misses), what a warm IOTLB should keep near 1 */
static double serve_stats_hit_rate(const struct vhost_user_backend_iotlb_stats *t)
{
	return t->hits + t->misses ? (double)t->hits / (double)(t->hits + t->misses) : 0.0;
}

/* One line of text, or (@json) a member `,"iotlb":{...}` of the enclosing object. */
static void serve_stats_iotlb(const char *kind, const struct vhost_user_backend_iotlb_stats *t,
			      bool json, FILE *out)
{
	if (!t)
		return;
	if (json)
		fprintf(out,
			",\"iotlb\":{\"active\":%s,\"hits\":%" PRIu64 ",\"misses\":%" PRIu64
			",\"hit_rate\":%.6f,\"updates\":%" PRIu64 ",\"invalidations\":%" PRIu64
			",\"evictions\":%" PRIu64 ",\"entries\":%u}",
			t->active ? "true" : "false", t->hits, t->misses, serve_stats_hit_rate(t),
			t->updates, t->invalidations, t->evictions, t->entries);
	else
		fprintf(out,
			"vireo serve %s: iotlb: hits %" PRIu64 ", misses %" PRIu64
			", hit rate %.4f, updates %" PRIu64 ", invalidations %" PRIu64
			", evictions %" PRIu64 ", entries %u%s\n",
			kind, t->hits, t->misses, serve_stats_hit_rate(t), t->updates,
			t->invalidations, t->evictions, t->entries,
			t->active ? "" : " (ACCESS_PLATFORM not negotiated now)");
}

void serve_stats_blk(const struct blk_device *blk,
		     const struct vhost_user_backend_iotlb_stats *iotlb, bool json, FILE *out)
{
	struct blk_device_queue_stats st;
	unsigned int q;

	if (json)
		fprintf(out, "{\"device\":\"blk\",\"queues\":[");
	else
		fprintf(out, "vireo serve blk: counters\n");
	for (q = 0; vireo_blk_device_queue_stats(blk, q, &st) == 0; q++) {
		if (json)
			serve_stats_blk_json(q, &st, out);
		else
			serve_stats_blk_text(q, &st, out);
	}
	if (json)
		fprintf(out, "]");
	serve_stats_iotlb("blk", iotlb, json, out);
	if (json)
		fprintf(out, "}\n");
	fflush(out);
}

void serve_stats_rng(const struct rng_device *rng,
		     const struct vhost_user_backend_iotlb_stats *iotlb, bool json, FILE *out)
{
	struct rng_device_queue_stats st;

	vireo_rng_device_queue_stats(rng, &st);
	if (json)
		fprintf(out,
			"{\"device\":\"rng\",\"queues\":[{\"queue\":0,\"requests\":%" PRIu64
			",\"bytes\":%" PRIu64 ",\"kicks\":%" PRIu64 ",\"calls\":%" PRIu64 "}]",
			st.requests, st.bytes, st.kicks, st.calls);
	else
		fprintf(out,
			"vireo serve rng: counters\nvireo serve rng: queue 0: requests %" PRIu64
			", bytes %" PRIu64 ", kicks %" PRIu64 ", calls %" PRIu64 "\n",
			st.requests, st.bytes, st.kicks, st.calls);
	serve_stats_iotlb("rng", iotlb, json, out);
	if (json)
		fprintf(out, "}\n");
	fflush(out);
}
