"""`python -m resnet_viz.ui.launch [streamlit flags]`: start the app so that deep links work from the first request.

Streamlit 1.67 treats an app whose entry script sits beside a folder named ``pages/`` as an old-style multipage
app until the entry script's ``st.navigation`` has run once in the process; until then the first deep link
(``/architecture``) pops a "Page not found" dialog. ``app.py`` always calls ``st.navigation``, so the launcher
says so before the server starts. ``streamlit run app.py`` works too, with that one-time dialog.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parents[2] / "app.py"


def main(argv: list[str]) -> None:
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
