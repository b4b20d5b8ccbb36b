"""A tiny, fully specified random number generator (SplitMix64).

Python's `random` only guarantees `random()` across versions and NumPy's `Generator` may change
its streams between releases, so the world uses its own generator: the same seed gives the same
scenes, layouts and captions on every Python and NumPy version.

Any object with a `random()` method returning a float in [0, 1) (this `Rng`, `random.Random`,
`numpy.random.Generator`) can be passed where the API takes an `rng`; the helpers below only call
`rng.random()`.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence, TypeVar

T = TypeVar("T")

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z: int) -> int:
    """SplitMix64 finaliser: a bijective 64-bit mix."""
    z = (z + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def derive_seed(*parts: Any) -> int:
    """Combine ints and strings into one 64-bit seed (order matters)."""
    h = 0x243F6A8885A308D3
    for part in parts:
        if isinstance(part, str):
            v = int.from_bytes(hashlib.blake2b(part.encode("utf-8"), digest_size=8).digest(), "little")
        else:
            v = int(part) & MASK64
        h = mix64(h ^ v)
    return h


class Rng:
    """SplitMix64 generator. `Rng(seed)` is reproducible forever."""

    __slots__ = ("_state",)

    def __init__(self, seed: int | str = 0):
        self._state = derive_seed(seed)

    def next_u64(self) -> int:
        self._state = (self._state + GOLDEN) & MASK64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def random(self) -> float:
        """Uniform float in [0, 1) with 53 random bits."""
        return (self.next_u64() >> 11) * (1.0 / 9007199254740992.0)

    def fork(self, *tags: Any) -> "Rng":
        """An independent generator derived from this one's state and the tags."""
        child = Rng(0)
        child._state = derive_seed(self._state, *tags)
        return child


def as_rng(rng: Any) -> Any:
    """Accept an int/str seed, None (seed 0) or any object with `random()`."""
    if rng is None:
        return Rng(0)
    if isinstance(rng, (int, str)):
        return Rng(rng)
    if not hasattr(rng, "random"):
        raise TypeError(f"expected a seed or an object with random(), got {type(rng).__name__}")
    return rng


def uniform(rng: Any, a: float, b: float) -> float:
    return a + (b - a) * float(rng.random())


def below(rng: Any, n: int) -> int:
    """Uniform int in [0, n)."""
    if n <= 0:
        raise ValueError("n must be positive")
    return min(int(float(rng.random()) * n), n - 1)


def randint(rng: Any, a: int, b: int) -> int:
    """Uniform int in [a, b] (inclusive)."""
    return a + below(rng, b - a + 1)


def choice(rng: Any, seq: Sequence[T]) -> T:
    return seq[below(rng, len(seq))]


def weighted_choice(rng: Any, items: Sequence[T], weights: Sequence[float]) -> T:
    total = float(sum(weights))
    u = float(rng.random()) * total
    acc = 0.0
    for item, w in zip(items, weights):
        acc += w
        if u < acc:
            return item
    return items[-1]


def seed32(rng: Any) -> int:
    """A non-negative 31-bit seed drawn from rng (fits JSON and every int type)."""
    return int(float(rng.random()) * 2147483648.0) & 0x7FFFFFFF
