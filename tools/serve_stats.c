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

void serve_stats_blk(const struct blk_device *blk, bool json, FILE *out)
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
		fprintf(out, "]}\n");
	fflush(out);
}

void serve_stats_rng(const struct rng_device *rng, bool json, FILE *out)
{
	struct rng_device_queue_stats st;

	vireo_rng_device_queue_stats(rng, &st);
	if (json)
		fprintf(out,
			"{\"device\":\"rng\",\"queues\":[{\"queue\":0,\"requests\":%" PRIu64
			",\"bytes\":%" PRIu64 ",\"kicks\":%" PRIu64 ",\"calls\":%" PRIu64 "}]}\n",
			st.requests, st.bytes, st.kicks, st.calls);
	else
		fprintf(out,
			"vireo serve rng: counters\nvireo serve rng: queue 0: requests %" PRIu64
			", bytes %" PRIu64 ", kicks %" PRIu64 ", calls %" PRIu64 "\n",
			st.requests, st.bytes, st.kicks, st.calls);
	fflush(out);
}
