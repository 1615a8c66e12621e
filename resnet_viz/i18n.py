"""One lookup for every user-facing string, in English and Simplified Chinese.

Strings live in ``locales/<lang>/*.toml``: one folder per language, one file per part of the app.
Tables flatten to dotted keys (``[error] depth_not_6n2 = ...`` is ``error.depth_not_6n2``).
Values are ``str.format`` templates filled by keyword.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any, Final, Literal, get_args

__all__ = ["DEFAULT_LANG", "LANGS", "Lang", "has", "strings", "t"]

Lang = Literal["en", "zh"]
LANGS: Final[tuple[Lang, ...]] = get_args(Lang)
DEFAULT_LANG: Final[Lang] = "en"
_ROOT = Path(__file__).parent / "locales"


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str], origin: Path) -> None:
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(full + ".", value, out, origin)
            continue
        if full in out:
            raise ValueError(f"string key {full!r} is defined twice (second time in {origin.name})")
        out[full] = str(value)


@functools.cache
def strings(lang: Lang) -> dict[str, str]:
    """All strings of one language as a flat ``{dotted.key: template}`` mapping."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}")
    out: dict[str, str] = {}
    for path in sorted((_ROOT / lang).glob("*.toml")):
        with path.open("rb") as f:
            _flatten("", tomllib.load(f), out, path)
    return out


def has(key: str, lang: Lang = DEFAULT_LANG) -> bool:
    return key in strings(lang)


def t(key: str, lang: Lang = DEFAULT_LANG, /, **values: object) -> str:
    """The string ``key`` in ``lang``, filled with ``values``; a missing key is a bug and raises."""
    template = strings(lang)[key]
    return template.format(**values) if values else template
