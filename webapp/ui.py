"""Small UI pieces. ``Md`` renders Markdown on the server: Solara's own Markdown component always loads KaTeX
from its CDN path, which solara-assets does not bundle, so offline it would leave failed requests."""

from __future__ import annotations

from typing import Any

import markdown as _markdown
import solara


@solara.component
def Md(text: str, classes: list[str] = [], style: Any = None):  # noqa: B006 - Solara's signature style
    html = _markdown.markdown(text, extensions=["tables"])
    css = "dealsim-md " + " ".join(classes)
    return solara.HTML(tag="div", unsafe_innerHTML=html, classes=[css.strip()],
                       style=style or "")
