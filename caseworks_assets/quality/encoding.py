"""Text inputs that are not all UTF-8: the bytes that are not, read as Windows-1252.

Spreadsheets and ERPs on Windows save CSV in Windows-1252 (``Saída``,
``Engenheiro Elétrico`` as one byte per accented letter). Rejecting such a file
makes someone re-save it by hand; reading it as UTF-8 with replacement
characters loses the letters (``Sa�da``). Both are worse than the lossless repair done here:

* every byte sequence that is valid UTF-8 stays UTF-8, so a UTF-8 file is
  untouched and a file joined from UTF-8 and Windows-1252 parts keeps both;
* every sequence that is not is decoded as Windows-1252, the five bytes that
  encoding leaves undefined as the Latin-1 control characters of the same
  value (as browsers decode ``windows-1252``).

Valid UTF-8 wins where both readings are possible (``Ã©`` is read as ``é``),
the usual rule; a real Windows-1252 text rarely forms valid UTF-8 by chance.
Readers read a file as UTF-8 first, at full speed; only when that fails do
they call :func:`repaired_copy` (through :class:`RepairedCopies`, or
:func:`caseworks_assets.quality.csv_input.read_csv`; :func:`repaired_text` for bytes in memory),
which logs a warning on the ``caseworks.inputs`` logger naming the file and the
first line repaired. Dagster records it in the run's log (``python_logs`` in
the instance's ``dagster.yaml``).
"""

from __future__ import annotations

import codecs
import logging
import shutil
import tempfile
from pathlib import Path

from caseworks_assets.scratch import process_folder

LOG = logging.getLogger("caseworks.inputs")

#: The error handler's name for ``bytes.decode`` and codecs (registered at import).
WINDOWS_1252_FALLBACK = "caseworks-windows-1252"
#: Bytes decoded at a time when copying or searching a file (a line's end completes each block).
BLOCK_BYTES = 16 * 1024 * 1024
_UNDEFINED_IN_1252 = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})


def _windows_1252(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    text = "".join(chr(b) if b in _UNDEFINED_IN_1252 else bytes([b]).decode("cp1252") for b in bad)
    return text, error.end


codecs.register_error(WINDOWS_1252_FALLBACK, _windows_1252)


def decode_text(data: bytes) -> str:
    """``data`` as text: UTF-8 (a byte-order mark dropped), any sequence that is not UTF-8 as Windows-1252."""
    return data.decode("utf-8-sig", errors=WINDOWS_1252_FALLBACK)


def _first_undecodable(data: bytes) -> tuple[int, str] | None:
    """The line (from 1) of the first byte sequence of ``data`` that is not UTF-8, and the bytes; None if all is."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        return data.count(b"\n", 0, error.start) + 1, repr(data[error.start : error.end])
    return None


def first_undecodable_line(path: Path) -> tuple[int, str] | None:
    """The physical line of the first byte sequence of ``path`` that is not UTF-8, and the bytes; None if all is.

    Read in blocks ending at a line break, each decoded by Python's C decoder.
    """
    lines_before = 0
    with path.open("rb") as handle:
        while block := handle.read(BLOCK_BYTES):
            block += handle.readline()
            if (found := _first_undecodable(block)) is not None:
                return lines_before + found[0], found[1]
            lines_before += block.count(b"\n")
    return None


def repaired_text(data: bytes, name: str) -> str:
    """A whole file's bytes as text (:func:`decode_text`), logged as repaired when they were not all UTF-8."""
    if (found := _first_undecodable(data)) is not None:
        LOG.warning(encoding_note(name, found))
    return decode_text(data)


def utf8_copy(path: Path, target: Path) -> Path:
    """Write ``path`` to ``target`` as UTF-8 (see the module docstring), block by block; return ``target``.

    Line breaks and every valid UTF-8 byte are kept as they are, so the copy has
    the same lines and records as the original, in the same places.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors=WINDOWS_1252_FALLBACK)
    target.parent.mkdir(parents=True, exist_ok=True)
    with path.open("rb") as source, target.open("w", encoding="utf-8", newline="") as out:
        while block := source.read(BLOCK_BYTES):
            out.write(decoder.decode(block))
        out.write(decoder.decode(b"", final=True))
    return target


def encoding_note(name: str, found: tuple[int, str]) -> str:
    """What the log says of a file read through the repair."""
    line, raw = found
    return f"{name}: not all UTF-8 (first at line {line}, bytes {raw}); those bytes were read as Windows-1252"


def repaired_copy(path: Path, folder: Path, name: str | None = None) -> Path | None:
    """A UTF-8 copy of ``path`` in ``folder`` when ``path`` is not all UTF-8 (logged), else None.

    For a reader that met a decoding error: a file that is UTF-8 after all
    (the error was another one) gives None, and the caller raises its own.
    """
    found = first_undecodable_line(path)
    if found is None:
        return None
    LOG.warning(encoding_note(name or str(path), found))
    return utf8_copy(path, folder / path.name)


class RepairedCopies:
    """The repaired copies this process made, by original path, for readers that read a file more than once.

    A copy stands for its original only while the original keeps the size and
    modification time it had when the copy was made: a long-lived process (a
    code server) reads a file that was replaced, not the old copy.
    """

    def __init__(self) -> None:
        self._copies: dict[Path, tuple[tuple[int, int], Path]] = {}

    @staticmethod
    def _version(path: Path) -> tuple[int, int]:
        stat = path.stat()
        return stat.st_size, stat.st_mtime_ns

    def current(self, path: Path) -> Path | None:
        """The copy of ``path`` made earlier, if ``path`` has not changed since; else None."""
        entry = self._copies.get(path)
        if entry is None:
            return None
        version, copy = entry
        if version != self._version(path):
            del self._copies[path]
            shutil.rmtree(copy.parent, ignore_errors=True)
            return None
        return copy

    def source(self, path: Path) -> Path:
        """What to read for ``path``: its current copy, or the file itself."""
        return self.current(path) or path

    def repair(self, path: Path, name: str | None = None) -> Path | None:
        """After ``path`` failed to read: a new repaired copy to read instead, or None.

        None when ``path`` was read from its current copy already (the failure is
        another one) or is all UTF-8 (idem): the caller raises its own error.
        """
        return None if self.current(path) is not None else self.make(path, name)

    def make(self, path: Path, name: str | None = None) -> Path | None:
        """A new repaired copy of ``path`` (see :func:`repaired_copy`), or None when it is all UTF-8."""
        version = self._version(path)
        folder = Path(tempfile.mkdtemp(dir=process_folder("utf8")))
        copy = repaired_copy(path, folder, name)
        if copy is None:
            folder.rmdir()
            return None
        self._copies[path] = (version, copy)
        return copy
