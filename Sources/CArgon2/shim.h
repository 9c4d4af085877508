// The reference Argon2 library (Debian's libargon2), and glibc's mallopt, to hand its buffer back: only PasswordHasher.swift calls them.
#include <argon2.h>
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif
