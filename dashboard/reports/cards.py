"""The HTML of the feed cards (posts and incidents): pure functions, every outside text escaped.

Post texts are attacker-controlled. A card is built from :func:`html.escape`-d pieces only and
shown with ``st.html`` (which also sanitizes); never through markdown, where ``![](url)``
would make the browser fetch an outside address.
"""

from __future__ import annotations

import html
from urllib.parse import urlparse

import pandas as pd

from dashboard.i18n import t
from dashboard.reports.map import URGENCY_COLOURS, category_colour, category_label, clip
from geodata.export.common import as_jst
from geodata.feed import incident_size
from geodata.schema import CATEGORIES

_E = html.escape
TEXT_CHARS = 600

FEED_CSS = """
<style>
.bosai-card { border: 1px solid #d9dde3; border-left: 7px solid var(--u); border-radius: 6px;
  padding: 6px 10px; background: #fff; font-size: 15px; line-height: 1.45; }
.bosai-card .head { display: flex; flex-wrap: wrap; gap: 4px 6px; align-items: center; }
.bosai-card .no { font-weight: 700; color: #fff; background: #37474f; border-radius: 10px;
  padding: 0 7px; font-size: 13px; }
.bosai-card .urg { font-weight: 700; color: #fff; background: var(--u); border-radius: 4px;
  padding: 0 6px; font-size: 13px; }
.bosai-card .chip { border-radius: 10px; padding: 0 8px; font-size: 13px; color: #fff; }
.bosai-card .when { margin-left: auto; color: #52606d; font-size: 13px; white-space: nowrap; }
.bosai-card .text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 3px 0; }
.bosai-card .meta { color: #52606d; font-size: 13px; }
.bosai-card .state { font-weight: 600; }
.bosai-card .state.new { color: #b71c1c; }
.bosai-card .state.verified { color: #1565c0; }
.bosai-card .state.handled { color: #2e7d32; }
.bosai-card .state.dismissed { color: #757575; text-decoration: line-through; }
</style>
"""


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def when_text(value) -> str:
    """A time as ``10/12 21:35`` (JST); "" for none."""
    ts = None if _missing(value) else as_jst(value)
    return "" if ts is None else f"{ts:%m/%d %H:%M}"


def when_texts(values) -> list[str]:
    """:func:`when_text` of a whole column at once ("" for none)."""
    times = pd.to_datetime(pd.Series(list(values), dtype=object), utc=True, errors="coerce")
    texts = times.dt.tz_convert("Asia/Tokyo").dt.strftime("%m/%d %H:%M")
    return texts.where(times.notna(), "").tolist()


def geo_text(row: dict, lang: str = "ja") -> str:
    """How the post was placed: ``地名辞書 0.90`` / ``手動`` / ``位置不明``."""
    source = row.get("geo_source") if not _missing(row.get("geo_source")) else "none"
    label = t(f"reports.geo.{source}", lang=lang)
    conf = row.get("geo_confidence")
    if source not in ("none", "manual") and not _missing(conf):
        label += f" {float(conf):.2f}"
    return label


def place_text(row: dict, lang: str = "ja", towns: dict | None = None) -> str:
    """The matched place and town, and how it was located."""
    parts = []
    if not _missing(row.get("matched_place")):
        parts.append(str(row["matched_place"]))
    town = (towns or {}).get(row.get("town_code"))
    if town and town not in parts:
        parts.append(f"({town})" if parts else town)
    where = " ".join(parts) if parts else t("reports.place.none", lang=lang)
    return f"{where} · {geo_text(row, lang)}"


def urgency_of(row: dict) -> int:
    value = row.get("urgency")
    return 0 if _missing(value) else max(0, min(3, int(value)))


def post_card_html(
    row: dict,
    number: int,
    *,
    lang: str = "ja",
    towns: dict | None = None,
    copies: int = 0,
    show_author: bool = False,
) -> str:
    """One feed card: number, urgency, category chips, time, text, place, triage state.

    Every value from the post is escaped; the URL is linked only when it is http(s) and only
    for those who may see personal data (a post URL names its author).
    """
    urgency = urgency_of(row)
    cats = row.get("categories") if isinstance(row.get("categories"), list) else []
    chips = "".join(
        f'<span class="chip" style="background:{_E(category_colour(c))}">'
        f"{_E(category_label(c, lang))}</span>"
        for c in cats
    )
    head = (
        f'<span class="no">#{int(number)}</span>'
        f'<span class="urg">{_E(t(f"reports.urgency.{urgency}", lang=lang))}</span>'
        f'{chips}<span class="when">{_E(when_text(row.get("posted_at")))}</span>'
    )
    state = row.get("triage") if not _missing(row.get("triage")) else "new"
    meta = [
        f"{_E(t('reports.card.place', lang=lang))}: {_E(place_text(row, lang, towns))}",
        f'<span class="state {_E(state)}">{_E(t(f"triage.{state}", lang=lang))}</span>',
    ]
    if not _missing(row.get("assigned_to")):
        meta.append(_E(t("reports.card.assigned", lang=lang, name=str(row["assigned_to"]))))
    if copies:
        meta.append(_E(t("reports.card.copies", lang=lang, n=copies)))
    if show_author:
        who = "" if _missing(row.get("author")) else str(row["author"])
        source = _E(f"{who} · {row.get('platform') or ''}".strip(" ·"))
        url = "" if _missing(row.get("url")) else str(row["url"])
        if urlparse(url).scheme in ("http", "https"):
            source = (
                f'<a href="{_E(url, quote=True)}" target="_blank" rel="noopener noreferrer">'
                f"{source}</a>"
            )
        meta.append(source)
    else:
        meta.append(_E(str(row.get("platform") or "")))
    return (
        f'<div class="bosai-card bosai-post" style="--u:{URGENCY_COLOURS[urgency]}">'
        f'<div class="head">{head}</div>'
        f'<div class="text">{_E(clip(row.get("text"), TEXT_CHARS))}</div>'
        f'<div class="meta">{" · ".join(meta)}</div></div>'
    )


def incident_card_html(row: dict, *, lang: str = "ja", towns: dict | None = None) -> str:
    """One incident card: category, urgency, pieces per layer, town, first/last seen."""
    urgency = urgency_of(row)
    category = str(row.get("category") or "その他")
    counts = row.get("counts") if isinstance(row.get("counts"), dict) else {}
    pieces = " · ".join(
        f"{_E(t('reports.incident.layer.' + str(k), lang=lang))} {int(v)}"
        for k, v in counts.items()
    )
    town = (towns or {}).get(row.get("town_code")) or t("reports.place.none", lang=lang)
    span = f"{when_text(row.get('first_seen'))} – {when_text(row.get('last_seen'))}"
    return (
        f'<div class="bosai-card bosai-incident-card" style="--u:{URGENCY_COLOURS[urgency]}">'
        f'<div class="head"><span class="urg">{_E(t(f"reports.urgency.{urgency}", lang=lang))}'
        f'</span><span class="chip" style="background:{_E(category_colour(category))}">'
        f"{_E(category_label(category, lang))}</span>"
        f'<span class="when">{_E(span)}</span></div>'
        f'<div class="text">{_E(town)} · '
        f"{_E(t('reports.incident.pieces', lang=lang, n=incident_size(counts)))}</div>"
        f'<div class="meta">{pieces}</div></div>'
    )


def category_legend_html(lang: str = "ja") -> str:
    """The category colours of the map's pins and incidents, as a line of chips."""
    chips = "".join(
        f'<span class="chip" style="background:{_E(category_colour(c))}">'
        f"{_E(category_label(c, lang))}</span>"
        for c in CATEGORIES
    )
    return (
        '<div class="bosai-card bosai-legend-line" style="--u:#ffffff;border:0;padding:0">'
        f'<div class="head"><span class="meta">{_E(t("reports.map.categories", lang=lang))}</span>'
        f"{chips}</div></div>"
    )
