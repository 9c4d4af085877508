// Lock-free operations on the host's shared-memory region: atomics on raw words, SipHash, memfd.

#define _GNU_SOURCE
#include "CHostRegion.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

// 16-byte atomics are inline instructions only with cx16; without it the compiler would call
// libatomic, whose fallback takes a lock a killed process could keep.
#pragma clang diagnostic ignored "-Watomic-alignment"
#if defined(__x86_64__)
#define CHR_PAIR_TARGET __attribute__((target("cx16")))
#else
#define CHR_PAIR_TARGET
#endif

uint64_t chr_load64(const uint64_t *word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }

void chr_store64(uint64_t *word, uint64_t value) { __atomic_store_n(word, value, __ATOMIC_SEQ_CST); }

uint64_t chr_add64(uint64_t *word, uint64_t delta) { return __atomic_add_fetch(word, delta, __ATOMIC_SEQ_CST); }

bool chr_cas64(uint64_t *word, uint64_t *expected, uint64_t desired) {
    return __atomic_compare_exchange_n(word, expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

uint64_t chr_max64(uint64_t *word, uint64_t value) {
    uint64_t current = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    while (current < value && !chr_cas64(word, &current, value)) {
    }
    return current;
}

uint64_t chr_load64_relaxed(const uint64_t *word) { return __atomic_load_n(word, __ATOMIC_RELAXED); }

void chr_store64_relaxed(uint64_t *word, uint64_t value) { __atomic_store_n(word, value, __ATOMIC_RELAXED); }

void chr_fence_acquire(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }

void chr_fence_release(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }

uint64_t chr_store_text(uint64_t *words, uint64_t capacity, const void *bytes, uint64_t length) {
    if (length > capacity) length = capacity;
    const unsigned char *source = bytes;
    for (uint64_t offset = 0; offset < capacity; offset += 8) {
        uint64_t word = 0;
        for (uint64_t index = 0; index < 8 && offset + index < length; index++) {
            word |= (uint64_t)source[offset + index] << (8 * index);
        }
        __atomic_store_n(&words[offset / 8], word, __ATOMIC_RELAXED);
        // A zero byte ends the text for readers: what follows it is never read.
        if (offset + 8 > length) break;
    }
    return length;
}

void chr_load_text(const uint64_t *words, uint64_t capacity, void *out) {
    unsigned char *target = out;
    for (uint64_t offset = 0; offset < capacity; offset += 8) {
        uint64_t word = __atomic_load_n(&words[offset / 8], __ATOMIC_RELAXED);
        for (uint64_t index = 0; index < 8; index++) target[offset + index] = (unsigned char)(word >> (8 * index));
    }
}

CHR_PAIR_TARGET chr_pair chr_load128(chr_pair *pair) {
    unsigned __int128 value = __atomic_load_n((unsigned __int128 *)pair, __ATOMIC_SEQ_CST);
    chr_pair result = {(uint64_t)value, (uint64_t)(value >> 64)};
    return result;
}

CHR_PAIR_TARGET bool chr_cas128(chr_pair *pair, chr_pair *expected, chr_pair desired) {
    unsigned __int128 old = ((unsigned __int128)expected->high << 64) | expected->low;
    unsigned __int128 new = ((unsigned __int128)desired.high << 64) | desired.low;
    bool swapped = __atomic_compare_exchange_n(
        (unsigned __int128 *)pair, &old, new, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    if (!swapped) {
        expected->low = (uint64_t)old;
        expected->high = (uint64_t)(old >> 64);
    }
    return swapped;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                                       \
    do {                                                                                                               \
        v0 += v1;                                                                                                      \
        v1 = ROTL(v1, 13);                                                                                             \
        v1 ^= v0;                                                                                                      \
        v0 = ROTL(v0, 32);                                                                                             \
        v2 += v3;                                                                                                      \
        v3 = ROTL(v3, 16);                                                                                             \
        v3 ^= v2;                                                                                                      \
        v0 += v3;                                                                                                      \
        v3 = ROTL(v3, 21);                                                                                             \
        v3 ^= v0;                                                                                                      \
        v2 += v1;                                                                                                      \
        v1 = ROTL(v1, 17);                                                                                             \
        v1 ^= v2;                                                                                                      \
        v2 = ROTL(v2, 32);                                                                                             \
    } while (0)

uint64_t chr_siphash(const void *bytes, uint64_t length, uint64_t key0, uint64_t key1) {
    const uint8_t *in = bytes;
    uint64_t v0 = 0x736f6d6570736575ULL ^ key0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ key1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ key0;
    uint64_t v3 = 0x7465646279746573ULL ^ key1;
    const uint8_t *end = in + length - (length % 8);
    for (; in != end; in += 8) {
        uint64_t m = 0;
        for (int i = 0; i < 8; i++) m |= (uint64_t)in[i] << (8 * i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = length << 56;
    for (int i = 0; i < (int)(length % 8); i++) b |= (uint64_t)in[i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

int chr_memfd(const char *name) { return (int)syscall(SYS_memfd_create, name, 0); }
