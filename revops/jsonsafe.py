"""JSON-safe copies of values with dates and Decimals (Decimals become exact strings, never floats),
and the checks that keep what the database cannot store (U+0000, lone UTF-16 surrogates) or what
would exhaust the stack (JSON nested thousands deep) out of the application."""

import json
import re

from django.core.serializers.json import DjangoJSONEncoder

# Deeper than any document Concord accepts (an event batch is 4 levels deep, a tier table 3); far
# below Python's recursion limit, so nothing downstream (validation, hashing, encoding) can overflow.
MAX_JSON_DEPTH = 64

# A lone surrogate (U+D800–U+DFFF) is what a JSON "\ud800" escape without its pair decodes to: it is
# not a character, cannot be encoded as UTF-8, and fails PostgreSQL, SQLite and the JSON renderer.
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONTooDeep(ValueError):
    """A JSON document nested deeper than :data:`MAX_JSON_DEPTH`."""


def jsonable(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def json_depth_exceeds(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests containers deeper than ``limit``. Iterative: it cannot
    itself overflow the stack, whatever the depth."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))
    return False


def loads_bounded(text, *, max_depth: int = MAX_JSON_DEPTH, **kwargs):
    """``json.loads`` that refuses documents nested deeper than ``max_depth`` with :class:`JSONTooDeep`
    (a ValueError, like any other malformed JSON) instead of a RecursionError."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise JSONTooDeep(f"JSON nested deeper than {max_depth} levels is not accepted.") from None
    if json_depth_exceeds(value, max_depth):
        raise JSONTooDeep(f"JSON nested deeper than {max_depth} levels is not accepted.")
    return value


def loads_text(text, *, max_depth: int = MAX_JSON_DEPTH, **kwargs):
    """:func:`loads_bounded` for JSON typed into a form field and then stored: a lone surrogate
    (an unpaired ``\\ud800`` escape) is refused with a ValueError too."""
    value = loads_bounded(text, max_depth=max_depth, **kwargs)
    where = find_surrogate(value)
    if where is not None:
        raise ValueError(
            f"{where + ': ' if where else ''}a lone surrogate (an unpaired \\ud800–\\udfff escape) is not a character."
        )
    return value


def has_surrogate(text: str) -> bool:
    return isinstance(text, str) and _SURROGATE.search(text) is not None


def _visible(text: str) -> str:
    text = text.replace("\x00", "\\u0000")
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def nul_visible(value):
    """PostgreSQL cannot store U+0000 in text or jsonb, and no database (nor UTF-8) can store a lone
    surrogate: a copy with either kept as visible text (``\\u0000``, ``\\ud800``), in keys and values
    alike."""
    if isinstance(value, str):
        return _visible(value)
    if isinstance(value, list):
        return [nul_visible(item) for item in value]
    if isinstance(value, dict):
        return {nul_visible(key): nul_visible(item) for key, item in value.items()}
    return value


storable = nul_visible


def _find(value, bad, path: str = "") -> str | None:
    if isinstance(value, str):
        return path if bad(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if bad(str(key)):
                return sub
            found = _find(item, bad, sub)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _find(item, bad, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def find_nul(value, path: str = "") -> str | None:
    """The JSON path (``lines[1].name``) of the first key or string that holds U+0000, or None."""
    return _find(value, lambda text: "\x00" in text, path)


def find_surrogate(value, path: str = "") -> str | None:
    """The JSON path of the first key or string that holds a lone surrogate, or None."""
    return _find(value, has_surrogate, path)
