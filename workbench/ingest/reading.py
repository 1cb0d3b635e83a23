"""Shared reading helpers of the loaders: bounded reads, encoding sniffing, line streams.

Every reader streams in bounded pieces (``_CHUNK``), so that no file or line is held whole.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .records import Limits

#: Bytes read per chunk when streaming SGML.
_CHUNK = 1 << 20


def _read_upto(fh: Any, size: int, limits: Limits) -> bytes:
    """The file's bytes, at most ``max_file_bytes + 1`` of them, read in bounded chunks."""
    cap = limits.max_file_bytes + 1
    parts = [fh.read(min(size + 1, cap))]
    got = len(parts[0])
    while got < cap and len(parts[-1]) > 0 and got > size:  # larger than stat() said
        parts.append(fh.read(min(_CHUNK, cap - got)))
        got += len(parts[-1])
    return b"".join(parts)


def _sniff_encoding(path: Path) -> tuple[str, str | None]:
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", None
    sample = head[:8192]
    if b"\x00" in sample:  # UTF-16 without a BOM decodes as "valid" UTF-8 full of NULs
        for enc, zeros in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
            if zeros and zeros.count(0) / len(zeros) > 0.9:
                return enc, "no BOM; detected as " + enc
    try:
        head.decode("utf-8")
        return "utf-8", None
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # a character cut by the 1 MiB window
            return "utf-8", None
        return "cp1252", f"not valid UTF-8 (byte {exc.start}); decoded as cp1252"


class _Lines:
    """A text file's lines, each decoded on its own: UTF-8, else cp1252, else latin-1.

    One fallback row (a cp1252 quote in an otherwise UTF-8 file, or the reverse) neither
    garbles the other rows nor loses its own characters, and says so: ``take_note()`` gives
    the encoding and note of the lines read since the last call (the lines of one record).
    The file is read as latin-1 (byte for byte) so that every newline convention splits
    lines and each line's bytes are recovered exactly. UTF-16 files are decoded whole.
    Iterating yields each line, or None for one over ``max_chars`` (skipped, never held).
    """

    def __init__(self, path: Path, enc: str, note: str | None, max_chars: int) -> None:
        self.path, self.max_chars = path, max_chars
        if enc.startswith("utf-16"):
            self.file_enc, self.file_note = enc, note
        else:  # decided line by line
            self.file_enc, self.file_note = ("utf-8-sig" if enc == "utf-8-sig" else "utf-8"), None
        self._notes: list[str] = []
        self._fallback: str | None = None

    def take_note(self) -> tuple[str, str | None]:
        enc = self._fallback or self.file_enc
        notes = [n for n in (self.file_note, *self._notes) if n]
        self._notes, self._fallback = [], None
        return enc, "; ".join(notes)[:500] or None

    def __iter__(self) -> Iterator[str | None]:
        if self.file_enc.startswith("utf-16"):
            with open(self.path, encoding=self.file_enc, errors="replace", newline="") as fh:
                yield from _bounded_lines(fh, self.max_chars)
            return
        with open(self.path, encoding="latin-1", newline="") as fh:
            for n, raw in enumerate(_bounded_lines(fh, 4 * self.max_chars + 4), 1):
                if raw is None:
                    yield None
                    continue
                data = raw.encode("latin-1")
                if n == 1 and data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]
                try:
                    line = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    try:
                        line, enc = data.decode("cp1252"), "cp1252"
                    except UnicodeDecodeError:
                        line, enc = data.decode("latin-1"), "latin-1"
                    self._fallback = enc
                    self._notes.append(
                        f"line {n} not valid UTF-8 (byte {exc.start}); decoded as {enc}"
                    )
                yield None if len(line) > self.max_chars else line


def _bounded_lines(fh: io.TextIOBase, max_chars: int) -> Iterator[str | None]:
    """Lines of a text file, or None for a line over ``max_chars`` (skipped, never held)."""
    while True:
        line = fh.readline(max_chars + 1)
        if not line:
            return
        if len(line) > max_chars and not line.endswith("\n"):
            while True:  # drain the rest of the over-long line in bounded chunks
                rest = fh.readline(_CHUNK)
                if not rest or rest.endswith("\n"):
                    break
            yield None
            continue
        yield line
