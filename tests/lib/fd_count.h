/* SPDX-License-Identifier: MIT */
/* Counting open file descriptors, for tests that check nothing leaks. */
#ifndef VIREO_TESTS_FD_COUNT_H
#define VIREO_TESTS_FD_COUNT_H

/** fd_count_open() - open descriptors below 4096 */
unsigned int fd_count_open(void);

/** fd_count_of_process() - open descriptors of process @pid (/proc/PID/fd) */
unsigned int fd_count_of_process(int pid);

#endif /* VIREO_TESTS_FD_COUNT_H */
