"""Per-mechanism random streams (common random numbers).

Each mechanism draws from its own generator, derived from the run's seed and the mechanism's name, so
the Deal and no-Deal runs of one seed see the same random numbers in every mechanism the Deal does not
touch, and a result never depends on which other mechanisms drew how many numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np

MECHANISMS = (
    "init", "health", "demography", "social", "trust", "staff", "community",
    "front_door", "hospital", "care_market", "survey",
)


def name_key(name: str) -> int:
    """A stable 32-bit integer for a mechanism name (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def make_streams(seed: int, names: tuple[str, ...] = MECHANISMS) -> dict[str, np.random.Generator]:
    """One independent PCG64 generator per mechanism: SeedSequence(entropy=seed, spawn_key=(key,))."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return {n: np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(name_key(n),))))
            for n in names}
