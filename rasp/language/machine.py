"""What this machine can hold. Every layer refuses work too large for it up front (selector cells
in the interpreter, weights in the compiler, activations in training); they measure against this."""

from __future__ import annotations

import os

FALLBACK_MEMORY = 8 * 2**30  # bytes assumed when the system does not say
USABLE_SHARE = 0.4  # of the RAM, what one compile or one training run may plan to use


def total_memory() -> int:
    """This machine's RAM in bytes (8 GiB when it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return FALLBACK_MEMORY


def usable_memory() -> int:
    """Bytes one compile or one training run may plan to use: a share of the RAM, leaving the
    rest to the system and to the copies frameworks make on the way."""
    return int(USABLE_SHARE * total_memory())
