// The reference Argon2 library (Debian's libargon2): only PasswordHasher.swift calls it.
#include <argon2.h>
