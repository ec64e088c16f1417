// SPDX-License-Identifier: MIT
/*
 * The Internet checksum (RFC 1071), the pseudo-header sums and the
 * completion of a partial checksum: see <vireo/inet_csum.h>.
 */
#include <errno.h>

#include <vireo/inet_csum.h>

/* Fold the carries of a 64-bit accumulator back into 32 bits (RFC 1071 §2(B)). */
static uint32_t inet_csum_fold32(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint32_t vireo_inet_csum_add(uint32_t sum, const uint8_t *buf, size_t len)
{
	uint64_t acc = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(buf[i] << 8 | buf[i + 1]);
	if (i < len)
		acc += (uint32_t)buf[i] << 8;
	return inet_csum_fold32(acc);
}

uint16_t vireo_inet_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t vireo_inet_csum_pseudo4(const uint8_t *addrs, uint8_t proto, uint32_t len)
{
	uint64_t acc = vireo_inet_csum_add(0, addrs, 8);

	acc += proto;
	acc += len >> 16;
	acc += len & 0xffffu;
	return inet_csum_fold32(acc);
}

uint32_t vireo_inet_csum_pseudo6(const uint8_t *addrs, uint8_t proto, uint32_t len)
{
	uint64_t acc = vireo_inet_csum_add(0, addrs, 32);

	/* RFC 8200 §8.1: a 32-bit length, three zero bytes, the next header */
	acc += len >> 16;
	acc += len & 0xffffu;
	acc += proto;
	return inet_csum_fold32(acc);
}

/* Return: 0, or -EINVAL (the field is not inside the frame). */
int vireo_inet_csum_complete(uint8_t *frame, uint32_t len, uint16_t start, uint16_t offset)
{
	uint32_t field = (uint32_t)start + offset;
	uint16_t csum;

	if (!inet_csum_partial_fits(start, offset, len))
		return -EINVAL;
	csum = (uint16_t)~vireo_inet_csum_fold(vireo_inet_csum_add(0, frame + start, len - start));
	if (csum == 0)
		csum = 0xffff;
	frame[field] = (uint8_t)(csum >> 8);
	frame[field + 1] = (uint8_t)csum;
	return 0;
}
