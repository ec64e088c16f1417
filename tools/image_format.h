/* SPDX-License-Identifier: MIT */
/*
 * Raw images only: an image whose first bytes announce another format (qcow2,
 * VMDK, VDI, VHDX, VHD, QED, LUKS, Parallels) is refused unless the user says
 * `--format raw`, as qemu-storage-daemon users expect: serving a qcow2 file's
 * bytes to a guest as a disk corrupts it on the first write. And an image that
 * cannot be opened read-write gets `--readonly` suggested where that helps.
 */
#ifndef VIREO_TOOLS_IMAGE_FORMAT_H
#define VIREO_TOOLS_IMAGE_FORMAT_H

#include <stdbool.h>

/** image_format_detect() - the non-raw format @path announces, or NULL (raw, or unreadable) */
const char *image_format_detect(const char *path);

/**
 * image_format_parse() - the value of `--format` (only "raw" is served)
 * Return: 0, or EXIT_USAGE after one error line naming @cmd.
 */
int image_format_parse(const char *cmd, const char *value);

/**
 * image_check_raw() - @path may be served as a raw image
 * @format_raw: the user gave `--format raw`
 * Return: 0, or 1 after one error line (it looks like another format).
 */
int image_check_raw(const char *cmd, const char *path, bool format_raw);

/** image_open_error() - one line for a failed open (-@err), --readonly suggested if it helps */
void image_open_error(const char *cmd, const char *path, int err, bool readonly);

#endif /* VIREO_TOOLS_IMAGE_FORMAT_H */
