"""JSON-safe copies of values with dates and Decimals (Decimals become exact strings, never floats)."""

import json

from django.core.serializers.json import DjangoJSONEncoder


def jsonable(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def nul_visible(value):
    """PostgreSQL cannot store U+0000 in text or jsonb: a copy with it kept as the visible text
    ``\\u0000``, in keys and values alike."""
    if isinstance(value, str):
        return value.replace("\x00", "\\u0000")
    if isinstance(value, list):
        return [nul_visible(item) for item in value]
    if isinstance(value, dict):
        return {nul_visible(key): nul_visible(item) for key, item in value.items()}
    return value


def find_nul(value, path: str = "") -> str | None:
    """The JSON path (``lines[1].name``) of the first key or string that holds U+0000, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return sub
            found = find_nul(item, sub)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = find_nul(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
