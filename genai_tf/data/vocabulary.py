"""The text kind's spec: a character :class:`Vocabulary` and the :class:`TextSpec` a text family is built from.

A trained text model stores its vocabulary's characters in its own config, so one ``.keras`` file
samples on its own. A text family's ``build`` receives a :class:`TextSpec` (the vocabulary and the
context length) where an image family receives the image shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

MAX_LISTED = 10  # unknown characters named in an error message


class Vocabulary:
    """The characters a model knows, in id order: ``characters[i]`` has id ``i``."""

    def __init__(self, characters: str | Iterable[str]):
        characters = "".join(characters)
        if not characters:
            raise ValueError("A vocabulary needs at least one character; build it from a non-empty text.")
        if len(set(characters)) != len(characters):
            repeated = sorted({c for c in characters if characters.count(c) > 1})
            raise ValueError(f"The vocabulary repeats characters {repeated!r}; each character appears once.")
        self.characters = characters
        self._ids = {character: index for index, character in enumerate(characters)}

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        """Every character of ``text``, sorted by code point."""
        return cls(sorted(set(text)))

    @property
    def size(self) -> int:
        return len(self.characters)

    def __len__(self) -> int:
        return len(self.characters)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and other.characters == self.characters

    def __hash__(self) -> int:
        return hash(self.characters)

    def __repr__(self) -> str:
        return f"Vocabulary({self.size} characters)"

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` that are not in the vocabulary, in order of appearance."""
        return list(dict.fromkeys(c for c in text if c not in self._ids))

    def encode(self, text: str, what: str = "The text") -> np.ndarray:
        """``text`` as int32 ids; a ValueError names the characters the vocabulary lacks."""
        missing = self.unknown(text)
        if missing:
            listed = ", ".join(repr(c) for c in missing[:MAX_LISTED])
            more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
            raise ValueError(f"{what} has {len(missing)} character(s) the model's vocabulary lacks: {listed}{more}. "
                             f"Remove or replace them (the model knows {self.size} characters: "
                             f"{self.characters[:60]!r}{'...' if self.size > 60 else ''}).")
        return np.fromiter((self._ids[c] for c in text), dtype=np.int32, count=len(text))

    def decode(self, ids) -> str:
        """The characters of ``ids`` (any integer array-like)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"ids run from 0 to {self.size - 1}; got values in [{ids.min()}, {ids.max()}].")
        return "".join(self.characters[i] for i in ids)


@dataclasses.dataclass(frozen=True)
class TextSpec:
    """What a text family's ``build(spec, latent_dim, seed)`` gets: the vocabulary and the
    number of characters the model sees at once (its context)."""

    vocabulary: Vocabulary
    context: int

    def __post_init__(self):
        if isinstance(self.context, bool) or not isinstance(self.context, (int, np.integer)) or self.context < 1:
            raise ValueError(f"context={self.context!r}: a context is a whole number of characters >= 1.")
