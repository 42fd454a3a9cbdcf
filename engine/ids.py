"""Version 4 UUIDs as text: execution names, task tokens, Map Run and child names.

Owns: the text of a version 4 UUID made from 128 bits (a seeded generator's, for the
interpreter's reproducible ids, or the OS's), the same as `str(uuid.UUID(int=bits,
version=4))`. Must never: import anything beyond the standard library's `os`.

Why not `uuid`: on Linux, `import uuid` imports `platform`, which compiles a dozen regexes,
about 2 % of `asl run`'s start-up (bench/process_bench.py); the interpreter and the embedded
Engine need only this. `uuid5` stays with `uuid`, imported where it is used.
"""

from __future__ import annotations

import os

_VARIANT_MASK = ~(0xC000 << 48)
_VARIANT_RFC_4122 = 0x8000 << 48
_VERSION_MASK = ~(0xF000 << 64)
_VERSION_4 = 4 << 76


def uuid4_text(bits: int) -> str:
    """The version 4 UUID of the 128 `bits` (their variant and version bits set as RFC 4122
    says), as `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`."""
    value = (bits & _VARIANT_MASK | _VARIANT_RFC_4122) & _VERSION_MASK | _VERSION_4
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def random_uuid4() -> str:
    """A random version 4 UUID, as `str(uuid.uuid4())` (from `os.urandom`)."""
    return uuid4_text(int.from_bytes(os.urandom(16)))
