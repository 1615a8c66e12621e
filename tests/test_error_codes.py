"""Every error the package can raise has its sentence in English and in Chinese.

The codes are read off the source, not kept in a list: every call of a `UserError` class (found by its bases)
anywhere under resnet_viz/, its first argument followed back to string literals (a literal, either branch of a
conditional, a variable assigned in the same function, a tuple taken from a list of problems, a name a `for` loop
unpacks from a table of tuples in the module, a parameter filled by the function's callers). A code the reader
cannot follow fails the test: write it so that it can be read. Keys a run keeps in the store
(`error_code="lab.error.idle"`) are string literals of the same form and are checked too. The oracle is the locale
files themselves (`resnet_viz/locales/<lang>/*.toml`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from resnet_viz.i18n import LANGS, strings
from tests.conftest import ROOT

PACKAGE = ROOT / "resnet_viz"
Scope = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef
_KEY = re.compile(r"(?:lab\.)?error\.[a-z0-9_]+")


@dataclass(frozen=True)
class Raised:
    """One call of an error class: where it is, and the string keys its code can take (None: not readable)."""

    where: str
    keys: frozenset[str] | None


def _modules() -> dict[Path, ast.Module]:
    return {p: ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def _name(node: ast.expr) -> str | None:
    """``InputError`` for ``InputError`` and ``errors.InputError``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def error_classes(trees: dict[Path, ast.Module]) -> dict[str, str]:
    """Every UserError class by name, and the prefix of its keys (inherited unless it sets ``prefix = "..."``).
    A class that says its own message (``def message``, as RecordedError does with a stored key) is left out."""
    defs = [n for tree in trees.values() for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    prefixes: dict[str, str] = {}
    own_message: set[str] = set()
    changed = True
    while changed:
        changed = False
        for c in defs:
            if c.name in prefixes:
                continue
            bases = [b for b in map(_name, c.bases) if b is not None]
            parent = next((b for b in bases if b in prefixes), None)
            if c.name != "UserError" and parent is None:
                continue
            prefix = prefixes.get(parent or "", "")
            for stmt in c.body:
                if isinstance(stmt, ast.Assign) and any(_name(t) == "prefix" for t in stmt.targets):
                    assert isinstance(stmt.value, ast.Constant), f"{c.name}.prefix is not a literal"
                    prefix = str(stmt.value.value)
                if isinstance(stmt, ast.FunctionDef) and stmt.name == "message" and c.name != "UserError":
                    own_message.add(c.name)
            prefixes[c.name] = prefix
            changed = True
    return {name: prefix for name, prefix in prefixes.items() if name not in own_message}


def _scopes(tree: ast.Module) -> dict[int, Scope]:
    """The innermost function (or the module) around every node, by the node's id."""
    around: dict[int, Scope] = {id(n): tree for n in ast.walk(tree)}
    for fn in ast.walk(tree):  # breadth first: an inner function overwrites its outer one
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for n in ast.walk(fn):
                if n is not fn:
                    around[id(n)] = fn
    return around


class _Reader:
    """Follows an expression back to the string literals it can hold, within one module."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree, self.around = tree, _scopes(tree)

    def strings(self, node: ast.expr, scope: Scope, depth: int = 0) -> set[str] | None:
        if depth > 8:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value}
        if isinstance(node, ast.IfExp):
            return _union(self.strings(node.body, scope, depth + 1), self.strings(node.orelse, scope, depth + 1))
        if isinstance(node, ast.Name):
            if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef) and node.id in _params(scope):
                return self._from_callers(scope, node.id, depth + 1)
            return self._assigned(node.id, scope, depth + 1)
        return None

    def _assigned(self, name: str, scope: Scope, depth: int) -> set[str] | None:
        found: set[str] | None = set()
        seen = False
        for n in ast.walk(scope):
            if not isinstance(n, ast.Assign) or self.around[id(n)] is not scope:
                continue
            for target in n.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    seen, found = True, _union(found, self.strings(n.value, scope, depth))
                elif isinstance(target, ast.Tuple):
                    at = [i for i, e in enumerate(target.elts) if isinstance(e, ast.Name) and e.id == name]
                    if at:
                        seen, found = True, _union(found, self._unpacked(n.value, at[0], scope, depth))
        for n in ast.walk(scope):  # `for pattern, code in TABLE:`, TABLE a tuple or list of tuples in the module
            if not isinstance(n, ast.For) or self.around[id(n)] is not scope or not isinstance(n.target, ast.Tuple):
                continue
            at = [i for i, e in enumerate(n.target.elts) if isinstance(e, ast.Name) and e.id == name]
            if at and isinstance(n.iter, ast.Name):
                items = list(self._items(n.iter.id, scope)) or list(self._items(n.iter.id, self.tree))
                if not items:
                    return None
                seen = True
                for item in items:
                    if not isinstance(item, ast.Tuple):
                        return None
                    found = _union(found, self.strings(item.elts[at[0]], scope, depth))
        return found if seen else None

    def _unpacked(self, value: ast.expr, i: int, scope: Scope, depth: int) -> set[str] | None:
        """Item ``i`` of the tuple that ``value`` is: a tuple literal, or an item of a list of tuples."""
        if isinstance(value, ast.Tuple):
            return self.strings(value.elts[i], scope, depth)
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            items = list(self._items(value.value.id, scope))
            if not items:
                return None
            found: set[str] | None = set()
            for item in items:
                if not isinstance(item, ast.Tuple):
                    return None
                found = _union(found, self.strings(item.elts[i], scope, depth))
            return found
        return None

    def _items(self, name: str, scope: Scope) -> Iterator[ast.expr]:
        """What list ``name`` is built from in ``scope``: literals, comprehensions, ``+=`` and ``.append``."""
        for n in ast.walk(scope):
            value: ast.expr | None = None
            if isinstance(n, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                    value = n.value
            elif _appends_to(n, name):
                assert isinstance(n, ast.Call)
                yield n.args[0]
            if isinstance(value, ast.List | ast.Tuple):
                yield from value.elts
            elif isinstance(value, ast.ListComp):
                yield value.elt

    def _from_callers(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, param: str, depth: int) -> set[str] | None:
        position = _params(fn).index(param)
        found: set[str] | None = set()
        calls = [n for n in ast.walk(self.tree) if isinstance(n, ast.Call) and _name(n.func) == fn.name]
        for call in calls:
            arg = next((k.value for k in call.keywords if k.arg == param), None)
            if arg is None and position < len(call.args):
                arg = call.args[position]
            if arg is None:
                return None
            found = _union(found, self.strings(arg, self.around[id(call)], depth))
        return found if calls else None


def _appends_to(n: ast.AST, name: str) -> bool:
    """Whether ``n`` is ``name.append(item)``."""
    if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "append" and n.args):
        return False
    return isinstance(n.func.value, ast.Name) and n.func.value.id == name


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]]


def _union(a: set[str] | None, b: set[str] | None) -> set[str] | None:
    return None if a is None or b is None else a | b


def raised_codes() -> list[Raised]:
    """Every call of a UserError class under resnet_viz/, with the keys its code can take."""
    trees = _modules()
    classes = error_classes(trees)
    out: list[Raised] = []
    for path, tree in trees.items():
        reader = _Reader(tree)
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or _name(call.func) not in classes:
                continue
            cls = _name(call.func)
            assert cls is not None
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            code = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "code"), None)
            codes = None if code is None else reader.strings(code, reader.around[id(call)])
            keys = None if codes is None else frozenset(f"{classes[cls]}.{c}" for c in codes)
            out.append(Raised(where, keys))
    return out


def test_the_reader_finds_the_error_classes_and_their_prefixes() -> None:
    classes = error_classes(_modules())
    assert {k: classes[k] for k in ("UserError", "SpecError", "InputError", "ResourceError", "TrainingError")} == (
        dict.fromkeys(("UserError", "SpecError", "InputError", "ResourceError", "TrainingError"), "error")
    )
    assert (classes["EngineError"], classes["StoreError"]) == ("lab.error", "lab.error")
    assert "RecordedError" not in classes  # it says a stored key as it is


def test_every_raised_error_code_can_be_read_off_the_source() -> None:
    raised = raised_codes()
    unreadable = [r.where for r in raised if r.keys is None]
    assert unreadable == [], "the error code of these calls cannot be followed back to string literals"
    keys = {k for r in raised for k in r.keys or ()}
    # the reader's harder paths: a literal, a conditional, a list of problems, a parameter filled by callers
    assert {"error.graphviz_missing", "error.grad_cifar_corrupt", "error.grad_cifar_offline"} <= keys
    assert {"error.ckpt_fit_missing", "error.ckpt_fit_shape", "error.ckpt_fit_unexpected"} <= keys
    assert "lab.error.scheduler_unreachable" in keys
    assert len(raised) > 100


def test_every_raised_error_code_has_its_sentence_in_every_language() -> None:
    keys = {k for r in raised_codes() for k in r.keys or ()}
    for lang in LANGS:
        missing = sorted(keys - set(strings(lang)))
        assert missing == [], f"error codes raised in resnet_viz/ with no sentence in locales/{lang}/"


def test_every_stored_error_key_has_its_sentence_in_every_language() -> None:
    """Keys written out whole: a run's ``error_code="lab.error.idle"``, an insight's ``"lab.error.insight_failed"``."""
    literals = {
        n.value
        for tree in _modules().values()
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and _KEY.fullmatch(n.value)
    }
    assert "lab.error.idle" in literals
    for lang in LANGS:
        assert sorted(literals - set(strings(lang))) == [], lang
