"""Errors a user can cause: a stable code plus values, so the UI and the CLI can say them in any language."""

from __future__ import annotations

from .i18n import DEFAULT_LANG, Lang, t

__all__ = ["InputError", "ResourceError", "SpecError", "TrainingError", "UserError"]


class UserError(ValueError):
    """Bad input from a person: shown as one sentence, never as a traceback."""

    prefix = "error"

    def __init__(self, code: str, **values: object) -> None:
        self.code = code
        self.values = values
        super().__init__(self.message())

    def message(self, lang: Lang = DEFAULT_LANG) -> str:
        return t(f"{self.prefix}.{self.code}", lang, **self.values)


class SpecError(UserError):
    """A network description that makes no network."""


class ResourceError(UserError):
    """Work that would not fit this machine (memory), refused before it starts."""


class InputError(UserError):
    """A bad file, image, size or flag value."""


class TrainingError(UserError):
    """A lab run that cannot go as chosen (a depth it cannot train, a list of depths that makes no sweep)."""
