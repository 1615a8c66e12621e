"""The guided tour page: chapter navigation (previous / next, a list, ``?chapter=``), presenter mode, language."""

from __future__ import annotations

from typing import Final

import streamlit as st

from ...i18n import LANGS, Lang, t
from ...tour.chapters import CHAPTERS, Chapter, chapter_index
from ..core.text import lang, tr

__all__ = ["PRESENTER_CSS", "render_tour"]

# A constant (no user text): hides the sidebar and its toggle, and enlarges the page's text for a projector.
PRESENTER_CSS: Final = """
<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapseButton"] { display: none !important; }
[data-testid="stMain"] .stMarkdown p, [data-testid="stMain"] .stMarkdown li,
[data-testid="stMain"] [data-testid="stCaptionContainer"] { font-size: 1.5rem !important; line-height: 1.55; }
[data-testid="stMain"] h1 { font-size: 3rem !important; }
[data-testid="stMain"] h2 { font-size: 2.4rem !important; }
[data-testid="stMain"] button p, [data-testid="stMain"] label p { font-size: 1.25rem !important; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding-left: 3rem; padding-right: 3rem; }
</style>
"""
_CHAPTER: Final = "tour_chapter"  # widget key of the chapter list; its value is a chapter key
_PRESENTER: Final = "tour_presenter"


def _init() -> None:
    """The chapter and presenter mode from the URL on arrival; kept in session state afterwards."""
    params = st.query_params
    if _CHAPTER not in st.session_state:
        st.session_state[_CHAPTER] = CHAPTERS[chapter_index(params.get("chapter"))].key
    if _PRESENTER not in st.session_state:
        st.session_state[_PRESENTER] = params.get("presenter") in ("1", "true")


def _step(delta: int) -> None:
    i = chapter_index(st.session_state.get(_CHAPTER)) + delta
    st.session_state[_CHAPTER] = CHAPTERS[max(0, min(len(CHAPTERS) - 1, i))].key


def _switch_language() -> None:
    st.session_state["lang"] = LANGS[(LANGS.index(lang()) + 1) % len(LANGS)]


def _sync_url(chapter: Chapter, presenter: bool) -> None:
    """Mirror the chapter (and presenter mode) into the URL; the sidebar keeps parameters it does not own."""
    if st.query_params.get("chapter") != chapter.key:
        st.query_params["chapter"] = chapter.key
    if presenter and st.query_params.get("presenter") != "1":
        st.query_params["presenter"] = "1"
    elif not presenter and "presenter" in st.query_params:
        del st.query_params["presenter"]


def _title(i: int, language: Lang | None = None) -> str:
    code = language or lang()
    return t("tour.chapter_option", code, n=i + 1, title=t(f"tour.{CHAPTERS[i].key}.title", code))


def _navigation(i: int, where: str) -> None:
    """Previous / next buttons and the position; ``where`` keeps the keys of the top and bottom rows apart."""
    c = st.columns([1, 3, 1], vertical_alignment="center")
    c[0].button(
        tr("tour.prev"),
        key=f"tour_prev_{where}",
        icon=":material/arrow_back:",
        on_click=_step,
        args=(-1,),
        disabled=i == 0,
        width="stretch",
    )
    c[1].caption(tr("tour.position", n=i + 1, total=len(CHAPTERS)))
    c[2].button(
        tr("tour.next"),
        key=f"tour_next_{where}",
        icon=":material/arrow_forward:",
        on_click=_step,
        args=(1,),
        disabled=i == len(CHAPTERS) - 1,
        width="stretch",
    )


def _questions(chapter: Chapter, facts: dict[str, object]) -> None:
    """The chapter's questions; and their answers, folded, where its view computed them (``answers`` in facts)."""
    answers = bool(facts.pop("answers", False))
    numbers = range(1, chapter.questions + 1)
    with st.container(border=True):
        st.markdown(f"**:material/quiz: {tr('tour.questions')}**")
        st.markdown("\n".join(f"{q}. {tr(f'tour.{chapter.key}.q{q}', **facts)}" for q in numbers))
        if answers:
            with st.expander(tr("tour.answers"), icon=":material/lightbulb:"):
                st.markdown("\n".join(f"{q}. {tr(f'tour.{chapter.key}.a{q}', **facts)}" for q in numbers))


def render_tour() -> None:
    """The whole tour page: header controls, the current chapter's text, live view and questions."""
    _init()
    head = st.columns([6, 2, 2], vertical_alignment="center")
    head[0].title(tr("tour.title"))
    head[1].toggle(tr("tour.presenter"), key=_PRESENTER, help=tr("tour.presenter_help"))
    head[2].button(
        tr("tour.switch_lang"), key="tour_lang", icon=":material/translate:", on_click=_switch_language, width="stretch"
    )
    presenter = bool(st.session_state[_PRESENTER])
    if presenter:
        st.markdown(PRESENTER_CSS, unsafe_allow_html=True)
    else:
        st.caption(tr("tour.intro", n=len(CHAPTERS)))
    code = lang()  # bound now: a format_func may be called after the run (AppTest does)
    st.selectbox(
        tr("tour.chapter_list"),
        [ch.key for ch in CHAPTERS],
        key=_CHAPTER,
        format_func=lambda key: _title(chapter_index(key), code),
    )
    i = chapter_index(st.session_state[_CHAPTER])
    chapter = CHAPTERS[i]
    _sync_url(chapter, presenter)
    _navigation(i, "top")
    st.header(_title(i), divider="gray")
    with st.spinner(tr("nav.page_loading")):  # the views import torch: only after the header is drawn
        from .views import VIEWS
    facts = VIEWS[chapter.view]()
    _questions(chapter, facts)
    _navigation(i, "bottom")
