/* SPDX-License-Identifier: MIT */
/*
 * What the threaded ring tests share: a driver thread and a device thread, each pinned to
 * its own CPU where there are two, waking each other through eventfds (the kick and the
 * call), and a monotonic clock for the run's time bound. A wait that times out stands for
 * "never woken" (a lost wake-up), not for a timing check.
 */
#ifndef VIREO_TESTS_SLEEP_WAKE_H
#define VIREO_TESTS_SLEEP_WAKE_H

#include <stdbool.h>
#include <stdint.h>

/** sleep_wake_now_ns() - CLOCK_MONOTONIC in nanoseconds */
uint64_t sleep_wake_now_ns(void);

/**
 * sleep_wake_pin() - best effort: run the calling thread on the @nth CPU it may run on
 * (0, 1: the two sides on two CPUs). Does nothing with fewer than two CPUs: then the waker
 * runs only while the sleeper sleeps, and no store can be reordered against the other.
 */
void sleep_wake_pin(unsigned int nth);

/** sleep_wake_signal() - add 1 to the eventfd @fd; aborts if it cannot */
void sleep_wake_signal(int fd);

/** sleep_wake_drain() - throw away a leftover count of the non-blocking eventfd @fd */
void sleep_wake_drain(int fd);

/**
 * sleep_wake_wait() - wait up to @timeout_ms for the non-blocking eventfd @fd, then consume
 * its count. Aborts on an error other than EINTR.
 * Return: true when @fd was signalled, false on timeout.
 */
bool sleep_wake_wait(int fd, int timeout_ms);

#endif /* VIREO_TESTS_SLEEP_WAKE_H */
