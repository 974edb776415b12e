/*
 * amtest: the protocol every Amber target program follows (after CRIU's zdtm).
 *
 *   test_init(argc, argv)   SIGTERM handler that sets test_stop; stdout unbuffered
 *   ...set the property up in its most demanding state...
 *   test_ready()            prints "READY": the harness may now checkpoint
 *   test_waitsig()          blocks until SIGTERM arrived (the harness sends it after restart)
 *   ...verify every detail against what was recorded before...
 *   pass() / fail(...)      prints "PASS" (exit 0) or "FAIL: ..." (exit 1)
 *
 * A target must PASS without any checkpoint as well (AMBER_TEST_NOCR=1 in the harness).
 */
#ifndef AMTEST_H
#define AMTEST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

extern volatile sig_atomic_t test_stop;     /* set by the SIGTERM handler */
extern volatile sig_atomic_t test_sigterms; /* how many SIGTERMs the handler saw */

void test_init(int argc, char **argv);
void test_ready(void);
void test_waitsig(void);
void test_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pass(void) __attribute__((noreturn));
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Deterministic content: the 64-bit word at index i of a region seeded with seed. */
uint64_t pattern_word(uint64_t seed, uint64_t i);
void pattern_fill(void *p, size_t len, uint64_t seed);
/* Offset of the first byte that differs from the pattern, or -1 when all match. */
long pattern_check(const void *p, size_t len, uint64_t seed);
uint64_t checksum(const void *p, size_t len);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t now_ns(int clock);
/* Whole file into a malloc'd buffer (NUL-terminated); length in *len. NULL on error. */
char *read_file(const char *path, size_t *len);

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

#endif
