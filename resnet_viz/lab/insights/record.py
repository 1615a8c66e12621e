"""JSON round trip of the insight records: frozen dataclasses of floats, ints, strings, tuples and records."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Self

__all__ = ["Record"]


class Record:
    """Base of every insight record: ``to_json`` gives plain dicts and lists, ``from_json`` reads them back."""

    def to_json(self) -> dict[str, Any]:
        """Plain dicts, lists, floats, ints, strings and None: what ``json.dumps`` takes as it is."""
        out = _plain(self)
        assert isinstance(out, dict)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """The record ``to_json`` wrote (lists back to tuples, nested records rebuilt)."""
        built = _build(cls, data)
        assert isinstance(built, cls)
        return built


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _build(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)  # resolves the string annotations in the record's own module
        return tp(**{f.name: _build(hints[f.name], value[f.name]) for f in dataclasses.fields(tp) if f.init})
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):  # the records' unions are all "X | None"
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(inner[0], value)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v) for v in value)
        return tuple(_build(a, v) for a, v in zip(args, value))
    if tp is float:
        return float(value)
    return value
