"""Character-level language-model data from any text file.

The vocabulary is the file's distinct characters (sorted by code point); a
sample is a window of ``block_size`` character ids ``x`` and the same window
shifted by one, ``y`` (the next character at every position), as a small GPT
is trained on. Train and validation are contiguous parts of the file (the
first ``1 - val_fraction`` and the rest), so no validation window overlaps
the training text.
"""
from __future__ import annotations

from pathlib import Path

import numpy
from numpy.lib.stride_tricks import sliding_window_view

from ...autograd.tensor import Tensor
from ..dataset import Dataset
from ...errors import InvalidArgument, PathNotFound

__all__ = ["CharDataset", "text"]


class CharDataset(Dataset):
    """``(x, y)`` windows over a sequence of character ids.

    Args:
        ids: 1-D int array of character ids.
        vocab: the characters, ``vocab[i]`` being id ``i``.
        block_size: window length ``T``.

    Shape: ``x`` and ``y`` are ``(T,)`` int64 per sample, ``(B, T)`` per batch.
    """

    def __init__(self, ids, vocab, block_size: int, source: str = "<text>"):
        if not isinstance(block_size, (int, numpy.integer)) or isinstance(block_size, bool) or block_size < 1:
            raise InvalidArgument(f"text: block_size must be a positive int, got {block_size!r}")
        self.ids = numpy.ascontiguousarray(ids, dtype=numpy.int64)
        self.vocab = list(vocab)
        self.stoi = {c: i for i, c in enumerate(self.vocab)}
        self.block_size = int(block_size)
        self.source = source
        if self.ids.size < self.block_size + 1:
            raise InvalidArgument(f"text: {source} gives {self.ids.size} characters here, fewer than block_size + 1 = "
                                  f"{self.block_size + 1}; use a smaller block_size or more text")
        self._windows = sliding_window_view(self.ids, self.block_size + 1)  # (len, T + 1) view, no copy
        self.name = "text"
        self.num_classes = len(self.vocab)

    @classmethod
    def from_text(cls, text: str, block_size: int, vocab=None, source: str = "<text>") -> "CharDataset":
        """Build from a string (vocabulary from its characters unless given)."""
        if vocab is None:
            vocab, ids = _vocab_ids(text)
        else:
            vocab = list(vocab)
            ids = _encode(_codes(text), vocab, source)
        return cls(ids, vocab, block_size, source)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, s: str) -> numpy.ndarray:
        """Character ids of ``s`` (int64); unknown characters raise ValueError."""
        return _encode(_codes(s), self.vocab, self.source)

    def decode(self, ids) -> str:
        """The string of a sequence of ids (list, array or Tensor)."""
        if isinstance(ids, Tensor):
            ids = ids._data
        ids = numpy.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.vocab)):
            raise InvalidArgument(f"decode: ids must lie in [0, {len(self.vocab)}), got {ids.min()}..{ids.max()}")
        return "".join(self.vocab[i] for i in ids.tolist())

    def __len__(self) -> int:
        return self._windows.shape[0]

    def __getitem__(self, index):
        w = self._windows[index]
        return Tensor._wrap(w[:-1].copy()), Tensor._wrap(w[1:].copy())

    def get_batch(self, indices):
        w = self._windows[numpy.asarray(indices)]  # one gather: (B, T + 1)
        return Tensor._wrap(numpy.ascontiguousarray(w[:, :-1])), Tensor._wrap(numpy.ascontiguousarray(w[:, 1:]))

    def __repr__(self) -> str:
        return f"CharDataset({self.source}: {self.ids.size} chars, vocab {len(self.vocab)}, block_size {self.block_size})"


def _codes(s: str) -> numpy.ndarray:
    return numpy.frombuffer(s.encode("utf-32-le"), dtype=numpy.uint32)


def _vocab_ids(s: str) -> tuple[list, numpy.ndarray]:
    """The sorted distinct characters of ``s`` and ``s`` as ids into them (vectorised)."""
    uniq, ids = numpy.unique(_codes(s), return_inverse=True)
    return [chr(c) for c in uniq.tolist()], ids.astype(numpy.int64)


def _encode(codes: numpy.ndarray, vocab: list, source: str) -> numpy.ndarray:
    table = numpy.asarray([ord(c) for c in vocab], dtype=numpy.uint32)
    order = numpy.argsort(table)
    pos = numpy.searchsorted(table[order], codes)
    pos = numpy.minimum(pos, len(table) - 1)
    ids = order[pos]
    bad = table[ids] != codes
    if bad.any():
        ch = chr(int(codes[numpy.flatnonzero(bad)[0]]))
        raise InvalidArgument(f"text: character {ch!r} is not in the vocabulary of {source}")
    return ids.astype(numpy.int64)


def text(path, block_size: int = 64, split: str = "train", val_fraction: float = 0.1,
         encoding: str = "utf-8") -> CharDataset:
    """A character-level dataset from the text file at ``path``.

    Args:
        path: any text file.
        block_size: context length ``T`` of each sample.
        split: ``"train"`` (the first ``1 - val_fraction`` of the file),
            ``"val"`` (the rest) or ``"all"``.
        val_fraction: share of the file, at its end, kept for validation.
        encoding: the file's encoding.

    Both splits share the whole file's vocabulary (``vocab``, ``stoi``,
    ``encode``, ``decode``, ``vocab_size``).
    """
    if split not in ("train", "val", "all"):
        raise InvalidArgument(f"text: split must be 'train', 'val' or 'all', got {split!r}")
    if not isinstance(val_fraction, (int, float)) or not 0.0 <= val_fraction < 1.0:
        raise InvalidArgument(f"text: val_fraction must be in [0, 1), got {val_fraction!r}")
    path = Path(path).expanduser()
    if path.is_dir():
        raise InvalidArgument(f"text: {path} is a directory, expected a text file")
    if not path.is_file():
        raise PathNotFound(f"text: no such file: {path}")
    try:
        content = path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"text: {path} is not valid {encoding} (byte {exc.start}); pass encoding=...") from None
    except OSError as exc:
        raise InvalidArgument(f"text: cannot read {path} ({exc.strerror or exc})") from None
    if not content:
        raise InvalidArgument(f"text: {path} is empty")
    vocab, ids = _vocab_ids(content)
    cut = int(round(ids.size * (1.0 - val_fraction)))
    part = {"train": ids[:cut], "val": ids[cut:], "all": ids}[split]
    return CharDataset(part, vocab, block_size, source=f"{path} ({split} split)")
