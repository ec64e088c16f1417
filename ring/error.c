// SPDX-License-Identifier: MIT
/* Names for the ways a driver can break a split ring (enum vring_error). */
#include <vireo/vring.h>

#define VRING_ERROR_TEXT(name, text) [VRING_ERR_##name] = text,
static const char *const vring_error_text[VRING_ERR_COUNT] = {VRING_ERRORS(VRING_ERROR_TEXT)};
#undef VRING_ERROR_TEXT

const char *vring_error_string(enum vring_error err)
{
	if ((unsigned int)err >= VRING_ERR_COUNT)
		return "unknown ring error";
	return vring_error_text[err];
}
