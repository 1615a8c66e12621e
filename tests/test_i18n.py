"""Every string exists in both languages, and every key the code asks for exists."""

from __future__ import annotations

import re
import string

import pytest

from resnet_viz.i18n import LANGS, strings, t
from tests.conftest import ROOT


def test_same_keys_in_every_language() -> None:
    en = set(strings("en"))
    for lang in LANGS:
        keys = set(strings(lang))
        assert sorted(en - keys) == [], f"missing in {lang}"
        assert sorted(keys - en) == [], f"only in {lang}"


def test_same_placeholders_in_every_language() -> None:
    def fields(template: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(template) if f}

    en = strings("en")
    for lang in LANGS:
        for key, template in strings(lang).items():
            assert fields(template) == fields(en[key]), key


def test_chinese_uses_textbook_terms() -> None:
    zh = "\n".join(strings("zh").values())
    for term in ("感受野", "批归一化", "恒等映射", "投影捷径", "瓶颈结构"):
        assert term in zh


_LITERAL_KEY = re.compile(r"""\b(?:tr|t)\(\s*["']([a-z_]+(?:\.[A-Za-z0-9_.]+)+)["']""")


def test_every_literal_key_in_the_code_exists() -> None:
    sources = [*ROOT.joinpath("resnet_viz").rglob("*.py"), *ROOT.joinpath("pages").glob("*.py"), ROOT / "app.py"]
    used = {m for path in sources for m in _LITERAL_KEY.findall(path.read_text(encoding="utf-8"))}
    assert used, "the pattern found no keys"
    missing = sorted(k for k in used if k not in strings("en"))
    assert missing == []


def test_lookup_fills_values_and_refuses_unknown_keys() -> None:
    assert (
        t("error.depth_rule", "zh", depth=75, rule="6n+2", low=74, high=80)
        == "深度 75 不符合 6n+2；可以试试 74 或 80。"
    )
    with pytest.raises(KeyError):
        t("no.such.key")
