/* SPDX-License-Identifier: MIT */
/*
 * A hang detector, not a timer: run a call in a thread and give up waiting
 * after a generous bound, so a call that blocks forever fails its test
 * instead of hanging the suite.
 */
#ifndef VIREO_TESTS_BOUNDED_CALL_H
#define VIREO_TESTS_BOUNDED_CALL_H

#include <stdbool.h>

#define BOUNDED_CALL_SECONDS 10

/**
 * bounded_call() - run @fn(@arg) in a thread; wait up to BOUNDED_CALL_SECONDS
 * Return: true if it returned; false if it is still blocked (the thread is
 * left behind, detached; @arg must outlive it: the caller then fails).
 */
bool bounded_call(void (*fn)(void *arg), void *arg);

#endif /* VIREO_TESTS_BOUNDED_CALL_H */
