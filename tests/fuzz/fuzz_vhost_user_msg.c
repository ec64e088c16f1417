// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the vhost-user message layer (transport/vhost_user_msg.c):
 * the input is a hostile peer. vireo_vhost_user_msg_parse() must accept exactly the
 * messages the table allows, and whatever it accepts must satisfy the
 * invariants the handlers rely on without re-checking: payload size matches
 * the request's kind, a memory table's count fits its array and equals the fd
 * count, a config access fits its buffer, the fd count follows the fd rule.
 *
 * Input layout:
 *   0      bits 0-3: number of fds that "came" with the message (0..15);
 *          bit 7: parse as a reply (front-end side)
 *   1..    the message bytes: 12-byte header (request, flags, size), payload
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vireo/vhost_user.h>

#include "tests/fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const struct vhost_user_msg *m)
{
	uint32_t size = m->hdr.size;

	switch (m->hdr.request) {
	case VHOST_USER_SET_MEM_TABLE:
		FUZZ_CHECK(m->payload.memory.nregions <= VHOST_USER_MEM_REGIONS_MAX);
		FUZZ_CHECK(size == 8 + 32 * m->payload.memory.nregions);
		FUZZ_CHECK(m->num_fds == m->payload.memory.nregions);
		break;
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		FUZZ_CHECK(m->payload.config.size <= VHOST_USER_CONFIG_MAX);
		FUZZ_CHECK(size == VHOST_USER_CONFIG_HDR_SIZE + m->payload.config.size);
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		FUZZ_CHECK(size == 8);
		FUZZ_CHECK(m->num_fds == ((m->payload.u64 & VHOST_USER_VRING_NOFD_MASK) ? 0u : 1u));
		break;
	case VHOST_USER_ADD_MEM_REG:
		FUZZ_CHECK(size == 40 && m->num_fds == 1);
		break;
	case VHOST_USER_REM_MEM_REG:
		FUZZ_CHECK(size == 40 && m->num_fds <= 1);
		break;
	case VHOST_USER_SET_VRING_ADDR:
		FUZZ_CHECK(size == 40 && m->num_fds == 0);
		break;
	case VHOST_USER_GET_INFLIGHT_FD:
		FUZZ_CHECK(size == sizeof(struct vhost_user_inflight) && m->num_fds == 0);
		break;
	case VHOST_USER_SET_INFLIGHT_FD:
		FUZZ_CHECK(size == sizeof(struct vhost_user_inflight) && m->num_fds == 1);
		break;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		/* The back-end channel's socket, no payload (vhost-user.rst). */
		FUZZ_CHECK(size <= 8 && m->num_fds == 1);
		break;
	case VHOST_USER_IOTLB_MSG:
		FUZZ_CHECK(size == sizeof(struct vhost_user_iotlb) && m->num_fds == 0);
		break;
	default:
		FUZZ_CHECK(size <= 8 && m->num_fds == 0);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vhost_user_msg m;
	unsigned int nfds;
	bool reply;
	int ret;

	if (size < 1)
		return 0;
	nfds = data[0] & 0x0fu;
	reply = (data[0] & 0x80u) != 0;
	ret = vireo_vhost_user_msg_parse(&m, data + 1, size - 1, nfds, reply);
	if (ret < 0) {
		/* Rejected: only the documented errors. */
		FUZZ_CHECK(ret == -EMSGSIZE || ret == -EPROTO || ret == -ENOTSUP || ret == -EBADF);
		return 0;
	}
	FUZZ_CHECK(size - 1 == sizeof(m.hdr) + m.hdr.size);
	FUZZ_CHECK(m.hdr.size <= VHOST_USER_PAYLOAD_MAX);
	FUZZ_CHECK(vireo_vhost_user_request_name(m.hdr.request) != NULL);
	FUZZ_CHECK((m.hdr.flags & VHOST_USER_VERSION_MASK) == VHOST_USER_VERSION);
	FUZZ_CHECK(m.num_fds <= VHOST_USER_MAX_FDS);
	if (reply) {
		/* GET_INFLIGHT_FD's reply is the one that carries a fd (the region). */
		FUZZ_CHECK(m.num_fds == (m.hdr.request == VHOST_USER_GET_INFLIGHT_FD ? 1u : 0u));
		FUZZ_CHECK(m.hdr.flags & VHOST_USER_REPLY_MASK);
	} else {
		FUZZ_CHECK(!(m.hdr.flags & VHOST_USER_REPLY_MASK));
		check_request(&m);
	}
	return 0;
}
