/* SPDX-License-Identifier: MIT */
/*
 * One small logging module with levels. Messages go to stderr as
 * "vireo: <level>: <text>". The threshold comes from the environment
 * variable VIREO_LOG (error|warn|info|debug; default warn) read once per
 * process, at the first log call; nothing else in Vireo prints diagnostics.
 */
#ifndef VIREO_LOG_H
#define VIREO_LOG_H

#include <vireo/api.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vireo_log_level { VIREO_LOG_ERROR, VIREO_LOG_WARN, VIREO_LOG_INFO, VIREO_LOG_DEBUG };

/**
 * vireo_log() - print one line at @level if the threshold allows it
 * @fmt: printf format; the newline is added (a trailing one is not doubled)
 */
VIREO_API void vireo_log(enum vireo_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * vireo_log_level_parse() - the level named @name (error, warn, info, debug)
 * Return: the level, or -EINVAL for any other name.
 */
VIREO_API int vireo_log_level_parse(const char *name);

/** vireo_log_enabled() - true if a message at @level would be printed */
VIREO_API int vireo_log_enabled(enum vireo_log_level level);

#define log_error(...) vireo_log(VIREO_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) vireo_log(VIREO_LOG_WARN, __VA_ARGS__)
#define log_info(...) vireo_log(VIREO_LOG_INFO, __VA_ARGS__)
#define log_debug(...) vireo_log(VIREO_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* VIREO_LOG_H */
