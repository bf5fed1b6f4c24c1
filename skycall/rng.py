"""One seeded random generator, passed explicitly (no global RNG state anywhere in skycall)."""

import numpy as np


def make_rng(seed: int | None) -> np.random.Generator:
    """Return a PCG64 generator for ``seed``; ``None`` is refused so every run is reproducible."""
    if seed is None:
        raise ValueError("a seed is required: every random source in skycall is seeded")
    return np.random.Generator(np.random.PCG64(int(seed)))


def child_rng(rng: np.random.Generator) -> np.random.Generator:
    """An independent generator derived from ``rng`` (for a sub-stage that needs its own stream)."""
    return np.random.Generator(np.random.PCG64(rng.bit_generator.random_raw()))
