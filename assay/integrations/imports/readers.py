"""Stream records out of an import file of any size: a JSON array, JSON lines, or a CSV export.

Each reader yields `Record`s one at a time and never holds more than one record (for CSV, one
order's rows) in memory. A record that cannot be parsed is yielded with its error, so the caller
reports it and goes on; a file that cannot be read at all raises `ImportFileError`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import ijson
import orjson

JSON_ARRAY = "JSON array"
JSON_LINES = "JSON lines"
CSV = "CSV"

_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"

try:  # the C backend (yajl2) is an order of magnitude faster; the Python one is the fallback.
    _ijson: Any = ijson.get_backend("yajl2_c")
except ImportError:  # pragma: no cover - depends on how ijson was built
    _ijson = ijson


class ImportFileError(Exception):
    """The file cannot be read as an import (missing, empty, not the expected format)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One order's worth of input: a JSON object, or the CSV rows of one order.

    `position` is the line number (JSON lines, CSV: the order's first row) or, for a JSON array,
    the record's index counted from 1; `unit` says which ("line" or "record"). `data` is a dict
    (JSON array), a `JsonText` (JSON lines) or a `CsvOrder`.
    """

    position: int
    unit: str
    data: Any = None
    error: str = ""
    # False when the raw record is known to hold no NUL character, so nobody needs to look again.
    may_hold_nul: bool = True

    @property
    def where(self) -> str:
        return f"{self.unit} {self.position}"


def detect_format(path: Path, *, source: str) -> str:
    """The file's format: CSV for --source csv; else a JSON array (first non-space byte `[`) or
    JSON lines (`{`)."""
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    if not path.is_file():
        raise ImportFileError(f"{path}: not a file")
    if source == "csv":
        return CSV
    first = b""
    with path.open("rb") as handle:
        chunk = handle.read(64 * 1024).removeprefix(_BOM)
        while chunk and not first:
            first = chunk.lstrip(_WHITESPACE)[:1]
            chunk = handle.read(64 * 1024)
    if not first:
        raise ImportFileError(f"{path}: the file is empty")
    if first == b"[":
        return JSON_ARRAY
    if first == b"{":
        return JSON_LINES
    hint = " (a CSV export needs --source csv)" if first.isalpha() or first == b'"' else ""
    raise ImportFileError(
        f"{path}: unreadable format: expected a JSON array ('[') or JSON lines ('{{'), "
        f"found {first.decode(errors='replace')!r}{hint}"
    )


class RecordStream:
    """Iterate over a file's records; `bytes_read` tells how far into the file the reader is."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path = path
        self.format = fmt
        self.size = path.stat().st_size
        self._handle: BinaryIO | None = None

    @property
    def bytes_read(self) -> int:
        if self._handle is None or self._handle.closed:
            return self.size
        return self._handle.tell()

    def __iter__(self) -> Iterator[Record]:
        with self.path.open("rb") as handle:
            self._handle = handle
            if self.format == JSON_LINES:
                yield from _json_lines(handle)
            elif self.format == JSON_ARRAY:
                yield from _json_array(handle)
            else:
                yield from _csv_orders(handle, self.path)


@dataclass(frozen=True, slots=True)
class JsonText:
    """A JSON lines record as it is in the file, not parsed yet.

    Its source parses the bytes straight into its own payload model, one pass instead of two (a
    parse into dicts, then a validation of them); `parsed()` gives what a reader would have made
    of it, and why it cannot be a record when it cannot.
    """

    raw: bytes

    def parsed(self) -> tuple[dict[str, Any] | None, str]:
        """(the JSON object, "") or (None, why it is not one)."""
        try:
            data = orjson.loads(self.raw)
        except orjson.JSONDecodeError as exc:
            return None, f"malformed JSON: {exc}"
        if not isinstance(data, dict):
            return None, f"expected a JSON object, found {type(data).__name__}"
        return data, ""

    @property
    def strict_json(self) -> bool:
        """False when the text may hold NaN or Infinity, which JSON does not allow (and orjson
        refuses) but a lenient parser would read as numbers: such a record takes `parsed()`."""
        return b"NaN" not in self.raw and b"Infinity" not in self.raw


def _json_lines(handle: BinaryIO) -> Iterator[Record]:
    for number, raw in enumerate(handle, start=1):
        if number == 1:
            raw = raw.removeprefix(_BOM)
        if not raw.strip():
            continue
        # JSON can only spell NUL as an escape; most records are cleared by one scan of the bytes.
        yield Record(number, "line", JsonText(raw), may_hold_nul=b"\\u0000" in raw)


def _json_array(handle: BinaryIO) -> Iterator[Record]:
    index = 0
    items = _ijson.items(handle, "item", use_float=True)
    while True:
        try:
            data = next(items)
        except StopIteration:
            return
        except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError) as exc:
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # yajl adds a caret diagram
            raise ImportFileError(
                f"record {index + 1}: the JSON array is malformed ({detail}); reading stopped"
            ) from None
        index += 1
        if not isinstance(data, dict):
            yield Record(index, "record", error=f"expected a JSON object, found {type(data).__name__}")
            continue
        yield Record(index, "record", data)


@dataclass(frozen=True, slots=True)
class CsvOrder:
    """One order's rows from a CSV export: the header and each row as a list of cells."""

    columns: dict[str, int]
    rows: list[tuple[int, list[str]]]  # (line number, cells)

    def cell(self, row: list[str], column: str) -> str:
        index = self.columns.get(column)
        if index is None or index >= len(row):
            return ""
        return row[index].strip()


def _csv_orders(handle: BinaryIO, path: Path) -> Iterator[Record]:
    """Rows grouped into orders: consecutive rows with the same Name are one order's line items."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileError(f"{path}: the file is empty")
        columns: dict[str, int] = {}
        for index, name in enumerate(header):
            columns.setdefault(name.strip().lower(), index)
        if "name" not in columns:
            raise ImportFileError(
                f"{path}: unreadable format: not a Shopify orders export (no 'Name' column in the first row)"
            )
        current: list[tuple[int, list[str]]] = []
        current_name = ""
        start = reader.line_num + 1
        name_index = columns["name"]
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            name = row[name_index].strip() if name_index < len(row) else ""
            if current and (name == current_name or not name):
                current.append((line, row))
                continue
            if current:
                yield _csv_record(columns, current)
            if not name:
                current, current_name = [], ""
                yield Record(line, "line", error="Name is empty")
                continue
            current, current_name = [(line, row)], name
        if current:
            yield _csv_record(columns, current)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"line {start}: the file is not UTF-8 text ({exc.reason}); reading stopped") from None
    except csv.Error as exc:
        raise ImportFileError(f"line {reader.line_num}: the CSV is malformed ({exc}); reading stopped") from None
    finally:
        text.detach()


def _csv_record(columns: dict[str, int], rows: list[tuple[int, list[str]]]) -> Record:
    nul = any("\x00" in cell for _, row in rows for cell in row)
    return Record(rows[0][0], "line", CsvOrder(columns, rows), may_hold_nul=nul)
