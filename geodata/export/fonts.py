"""The Japanese font of printed exports: Noto Sans CJK from the Debian package fonts-noto-cjk.

Matplotlib's default font has no Japanese glyphs (it draws tofu boxes), so every export that
draws Japanese text calls :func:`japanese_font` first. The font files are looked up in the
places Debian installs them, then anywhere under the system font folders; the folder can be
overridden with ``BOSAI_FONT_DIR``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

FONT_PACKAGE = "fonts-noto-cjk"
FAMILY = "Noto Sans CJK JP"  # the Japanese face of the collection (.ttc holds JP/KR/SC/TC/HK)
_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc")
_DIRS = (
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/opentype/noto-cjk",
    "/usr/share/fonts/noto-cjk",
    "/usr/local/share/fonts",
)


class FontNotFound(RuntimeError):
    """No Japanese font is installed; the message says which package to install."""


def find_font_files() -> list[Path]:
    """Paths of the Noto Sans CJK regular and bold collections (regular first).

    Raises
    ------
    FontNotFound : when the regular face cannot be found.
    """
    dirs = [os.environ["BOSAI_FONT_DIR"]] if os.environ.get("BOSAI_FONT_DIR") else []
    dirs += list(_DIRS)
    found: list[Path] = []
    for name in _FILES:
        path = next((Path(d) / name for d in dirs if (Path(d) / name).is_file()), None)
        if path is None:
            path = next(Path("/usr/share/fonts").rglob(name), None)
        if path is not None:
            found.append(path)
    if not found or found[0].name != _FILES[0]:
        raise FontNotFound(
            "Japanese font Noto Sans CJK (NotoSansCJK-Regular.ttc) not found: install the Debian "
            f"package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE}) or set BOSAI_FONT_DIR to "
            "the folder holding it"
        )
    return found


@lru_cache(maxsize=1)
def japanese_font() -> str:
    """Register Noto Sans CJK with matplotlib and return the family name to draw with.

    Returns
    -------
    The matplotlib font family name ("Noto Sans CJK JP").

    Raises
    ------
    FontNotFound : when fonts-noto-cjk is not installed.

    Examples
    --------
    >>> japanese_font()  # doctest: +SKIP
    'Noto Sans CJK JP'
    """
    from matplotlib import font_manager

    for path in find_font_files():
        font_manager.fontManager.addfont(str(path))
    names = {f.name for f in font_manager.fontManager.ttflist}
    if FAMILY not in names:
        raise FontNotFound(f"{FAMILY} was not registered from {find_font_files()[0]}")
    return FAMILY


def rc_params() -> dict:
    """Matplotlib settings for Japanese exports (use with ``matplotlib.rc_context``).

    PDFs embed the glyphs as Type 3 outlines with a ToUnicode map: they print everywhere and
    their text can be searched and copied (pdftotext reads it).
    """
    family = japanese_font()
    return {
        "font.family": [family],
        "font.sans-serif": [family, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "pdf.fonttype": 3,
        "svg.fonttype": "none",
    }
