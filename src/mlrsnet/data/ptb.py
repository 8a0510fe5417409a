"""Reader for the Penn Treebank word-level text and a word vocabulary."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from mlrsnet.data.paths import DatasetFormatError, dataset_not_found

logger = logging.getLogger(__name__)

PTB_SPLITS = ("train", "valid", "test")
END_OF_SENTENCE = "<eos>"
VOCABULARY_FORMAT = "mlrsnet-vocabulary"
VOCABULARY_VERSION = 1


def ptb_filenames(split: str) -> tuple[str, str]:
    """Return the two accepted file names of a PTB split: ``ptb.{split}.txt`` and ``{split}.txt``.

    Raises:
        ValueError: If ``split`` is not "train", "valid" or "test".
    """
    if split not in PTB_SPLITS:
        raise ValueError(f"PTB split must be one of {', '.join(map(repr, PTB_SPLITS))}, got {split!r}")
    return f"ptb.{split}.txt", f"{split}.txt"


def read_ptb_words(folder: str | os.PathLike[str], split: str) -> list[str]:
    """Read one PTB split as a list of words, with ``<eos>`` after every line.

    The file has one sentence per line, with words separated by spaces. It is read as UTF-8
    from ``ptb.{split}.txt`` or, if that is missing, ``{split}.txt``.

    Args:
        folder: The PTB folder, such as ``<data dir>/ptb``.
        split: "train", "valid" or "test".

    Returns:
        The words in file order, with ``<eos>`` appended at the end of each line.

    Raises:
        ValueError: If ``split`` is invalid.
        DatasetNotFoundError: If neither file name exists in ``folder``.
        DatasetFormatError: If the file is not UTF-8 text or contains no words.
    """
    folder = Path(folder)
    candidates = [folder / name for name in ptb_filenames(split)]
    path = next((candidate for candidate in candidates if candidate.is_file()), None)
    if path is None:
        raise dataset_not_found("Penn Treebank", folder, [f"{candidates[0].name} (or {candidates[1].name})"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DatasetFormatError(f"{path} is not UTF-8 text: {error}") from error

    words: list[str] = []
    num_lines = 0
    for line in text.splitlines():
        words.extend(line.split())
        words.append(END_OF_SENTENCE)
        num_lines += 1
    if len(words) == num_lines:
        raise DatasetFormatError(f"{path} contains no words; expected one sentence per line")
    logger.debug("Read %d PTB %s words from %s", len(words), split, path)
    return words


class UnknownWordError(KeyError, ValueError):
    """A word is not in the vocabulary.

    It derives from KeyError, as a failed lookup, and from ValueError, as an invalid input.
    """

    def __str__(self) -> str:
        # KeyError's own __str__ would print the message in quotes.
        return str(self.args[0]) if self.args else ""


class Vocabulary:
    """A fixed mapping between words and integer ids 0..len - 1, in first-seen order."""

    def __init__(self, words: Sequence[str]) -> None:
        """Build the vocabulary whose id i is ``words[i]``.

        Raises:
            TypeError: If a word is not a string.
            ValueError: If a word is empty or appears twice.
        """
        self._words: list[str] = []
        self._ids: dict[str, int] = {}
        for word in words:
            if not isinstance(word, str):
                raise TypeError(f"vocabulary words must be strings, got {word!r} of type {type(word).__name__}")
            if not word:
                raise ValueError("vocabulary words must not be empty")
            if word in self._ids:
                raise ValueError(
                    f"word {word!r} appears twice in the vocabulary (ids {self._ids[word]} and {len(self._words)})"
                )
            self._ids[word] = len(self._words)
            self._words.append(word)

    @classmethod
    def from_words(cls, *word_sequences: Iterable[str]) -> Vocabulary:
        """Build a vocabulary of every distinct word, numbered in the order first seen.

        Pass several sequences (such as the train, valid and test words) to number them as
        if they were one sequence.

        Raises:
            TypeError: If a word is not a string.
        """
        seen: dict[str, None] = {}
        for words in word_sequences:
            for word in words:
                if not isinstance(word, str):
                    raise TypeError(f"words must be strings, got {word!r} of type {type(word).__name__}")
                seen.setdefault(word)
        return cls(list(seen))

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: object) -> bool:
        return word in self._ids

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self._words == other._words

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} words)"

    @property
    def words(self) -> tuple[str, ...]:
        """The words in id order."""
        return tuple(self._words)

    def index(self, word: str) -> int:
        """Return the id of ``word``.

        Raises:
            UnknownWordError: If ``word`` is not in the vocabulary.
        """
        try:
            return self._ids[word]
        except KeyError:
            raise UnknownWordError(f"word {word!r} is not in the vocabulary of {len(self)} words") from None

    def word(self, index: int) -> str:
        """Return the word with id ``index``.

        Raises:
            IndexError: If ``index`` is not in 0..len - 1.
        """
        if isinstance(index, bool) or not 0 <= index < len(self._words):
            raise IndexError(f"word id {index!r} is out of range for a vocabulary of {len(self)} words")
        return self._words[index]

    def encode(self, words: Iterable[str]) -> torch.Tensor:
        """Return the ids of ``words`` as a 1-D int64 tensor.

        Raises:
            UnknownWordError: If a word is not in the vocabulary. The message names the word
                and its position.
        """
        ids = []
        for position, word in enumerate(words):
            word_id = self._ids.get(word)
            if word_id is None:
                raise UnknownWordError(f"word {word!r} at position {position} is not in the vocabulary of {len(self)} words")
            ids.append(word_id)
        return torch.tensor(ids, dtype=torch.int64)

    def decode(self, ids: Iterable[int] | torch.Tensor) -> list[str]:
        """Return the words of ``ids``, the inverse of ``encode``.

        Raises:
            IndexError: If an id is out of range.
        """
        values = ids.tolist() if isinstance(ids, torch.Tensor) else ids
        return [self.word(int(word_id)) for word_id in values]

    def to_json(self) -> str:
        """Serialize the vocabulary as JSON text that ``from_json`` reads back."""
        return json.dumps({"format": VOCABULARY_FORMAT, "version": VOCABULARY_VERSION, "words": self._words})

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        """Read a vocabulary written by ``to_json``.

        Raises:
            ValueError: If ``text`` is not JSON of that format, such as another file's content,
                a newer version or a duplicate word.
        """
        try:
            content = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"vocabulary text is not valid JSON: {error}") from error
        if not isinstance(content, dict) or content.get("format") != VOCABULARY_FORMAT:
            raise ValueError(f"vocabulary JSON must be an object with \"format\": \"{VOCABULARY_FORMAT}\"")
        if content.get("version") != VOCABULARY_VERSION:
            raise ValueError(
                f"vocabulary JSON has version {content.get('version')!r}; this mlrsnet reads version {VOCABULARY_VERSION}"
            )
        words = content.get("words")
        if not isinstance(words, list):
            raise ValueError("vocabulary JSON must contain a \"words\" list")
        try:
            return cls(words)
        except TypeError as error:
            raise ValueError(f"invalid vocabulary JSON: {error}") from error
