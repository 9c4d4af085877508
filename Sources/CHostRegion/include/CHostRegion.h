// Lock-free operations on the host's shared-memory region: atomics on raw words, SipHash, memfd.

#ifndef CHOSTREGION_H
#define CHOSTREGION_H

#include <stdbool.h>
#include <stdint.h>

/// Two adjacent 64-bit words updated as one (a rate-limit slot); 16-byte aligned in the region.
typedef struct {
    uint64_t low;
    uint64_t high;
} chr_pair;

uint64_t chr_load64(const uint64_t *word);
void chr_store64(uint64_t *word, uint64_t value);
uint64_t chr_add64(uint64_t *word, uint64_t delta);
bool chr_cas64(uint64_t *word, uint64_t *expected, uint64_t desired);
/// Raises `*word` to `value` unless it is already at least that; returns the value before.
uint64_t chr_max64(uint64_t *word, uint64_t value);

/// Relaxed loads and stores, and the fences that order them: the parts of a seqlock, whose
/// one writer publishes a slot that readers in other processes copy without a lock.
uint64_t chr_load64_relaxed(const uint64_t *word);
void chr_store64_relaxed(uint64_t *word, uint64_t value);
void chr_fence_acquire(void);
void chr_fence_release(void);
/// Stores `length` bytes of `bytes` into `capacity` bytes of words (a multiple of 8), each
/// word with a relaxed store, followed by a zero byte when shorter (readers stop there; the
/// words after it are left as they were); returns the bytes stored.
uint64_t chr_store_text(uint64_t *words, uint64_t capacity, const void *bytes, uint64_t length);
/// Loads `capacity` bytes of words (a multiple of 8) into `out` with relaxed loads.
void chr_load_text(const uint64_t *words, uint64_t capacity, void *out);

chr_pair chr_load128(chr_pair *pair);
/// One compare-and-swap of both words (cmpxchg16b on x86-64); `expected` receives the current
/// value on failure.
bool chr_cas128(chr_pair *pair, chr_pair *expected, chr_pair desired);

/// SipHash-2-4 of `length` bytes under the 128-bit key (`key0`, `key1`).
uint64_t chr_siphash(const void *bytes, uint64_t length, uint64_t key0, uint64_t key1);

/// An anonymous memory file without close-on-exec, so that exec'd children inherit it;
/// -1 with errno set on failure.
int chr_memfd(const char *name);

#include "CloseOnExec.h"
#include "ListenQueue.h"

#endif
