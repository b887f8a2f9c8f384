"""What a search text means, as a pure value: the words typed and, when it looks like a document
number, its prefix and sequence ("INV-000352" → INV, 352; "352" → no prefix, 352; "D-000352" → D, 352).

Numbers match exactly: "353" is sequence 353 and nothing else (never an internal id, never 3530)."""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMBER_RE = re.compile(r"#?\s*([A-Za-z]{1,12})?[\s-]?#?0*([0-9]{1,12})")
MAX_LENGTH = 100


@dataclass(frozen=True)
class Query:
    text: str
    prefix: str = ""  # upper case, "" when only digits were typed
    sequence: int | None = None

    @property
    def is_number(self) -> bool:
        return self.sequence is not None

    @property
    def bare_number(self) -> bool:
        """Only digits were typed ("352", "#352", "000352")."""
        return self.sequence is not None and not self.prefix

    def has_prefix(self, *prefixes: str) -> bool:
        return self.prefix in {p.upper() for p in prefixes}


def parse(text: str | None) -> Query:
    cleaned = " ".join((text or "").split())[:MAX_LENGTH]
    match = NUMBER_RE.fullmatch(cleaned)
    if not match:
        return Query(text=cleaned)
    return Query(text=cleaned, prefix=(match.group(1) or "").upper(), sequence=int(match.group(2)))
