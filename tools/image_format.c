// SPDX-License-Identifier: MIT
/* Raw images only, unless the user says so (image_format.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tools/image_format.h"
#include "tools/options.h"

/* Magic bytes at the start of an image, as the formats' specifications define them. */
static const struct image_magic {
	const char *name;
	unsigned int offset;
	unsigned int len;
	const char *bytes;
} image_magics[] = {
	{"qcow2", 0, 4, "QFI\xfb"},
	{"QED", 0, 4, "QED\0"},
	{"VMDK", 0, 4, "KDMV"},
	{"VMDK", 0, 21, "# Disk DescriptorFile"},
	{"VDI", 64, 4, "\x7f\x10\xda\xbe"},
	{"VHDX", 0, 8, "vhdxfile"},
	{"VHD", 0, 8, "conectix"},
	{"LUKS", 0, 6, "LUKS\xba\xbe"},
	{"Parallels", 0, 16, "WithoutFreeSpace"},
	{"Parallels", 0, 16, "WithouFreSpacExt"},
};

const char *image_format_detect(const char *path)
{
	unsigned char head[128];
	ssize_t n;
	size_t i;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	for (i = 0; n > 0 && i < sizeof(image_magics) / sizeof(image_magics[0]); i++) {
		const struct image_magic *m = &image_magics[i];

		if ((size_t)n >= m->offset + m->len &&
		    memcmp(head + m->offset, m->bytes, m->len) == 0)
			return m->name;
	}
	return NULL;
}

/* Return: 0, or EXIT_USAGE after one error line. */
int image_format_parse(const char *cmd, const char *value)
{
	if (strcmp(value, "raw") == 0)
		return 0;
	return opt_usage_error(cmd,
			       "--format: only raw images are served, not '%s' "
			       "(convert with: qemu-img convert -O raw IN OUT)",
			       value);
}

/* Return: 0, or 1 after one error line. */
int image_check_raw(const char *cmd, const char *path, bool format_raw)
{
	const char *format = format_raw ? NULL : image_format_detect(path);

	if (!format)
		return 0;
	fprintf(stderr,
		"vireo %s: %s looks like a %s image; only raw images are served "
		"(qemu-img convert -O raw, or --format raw to serve its bytes as they are)\n",
		cmd, path, format);
	return 1;
}

void image_open_error(const char *cmd, const char *path, int err, bool readonly)
{
	bool hint = !readonly && (err == EACCES || err == EROFS || err == EPERM);

	fprintf(stderr, "vireo %s: %s: %s%s\n", cmd, path, strerror(err),
		hint ? " (read-only? try --readonly)" : "");
}
