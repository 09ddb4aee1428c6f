"""The domain's vocabularies, declared once: the codes the store holds and their ja/en labels.

Every status, outcome and category a page, an export or the CLI shows comes from here; the UI
catalogue (:mod:`dashboard.i18n`) takes its entries for these terms from :data:`VOCABULARIES`, and
printed outputs (the visit list, the situation map, open data) take the Japanese label. A code
that is not in a vocabulary is shown as it is stored, so a new value is visible, not hidden.

Examples
--------
>>> FOLLOW_UP_OUTCOMES.label("moved")
'転居'
>>> FOLLOW_UP_OUTCOMES.label("moved", "en")
'Moved away'
>>> SHELTER_STATUSES.label("どこか")
'どこか'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Vocabulary:
    """An ordered set of codes with Japanese and English labels.

    Parameters
    ----------
    name : the vocabulary's name (the UI catalogue key is ``f"{name}.{code}"``).
    terms : code -> (Japanese label, English label), in display order.
    """

    name: str
    terms: dict[str, tuple[str, str]]

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes in display order."""
        return tuple(self.terms)

    def label(self, code, lang: str = "ja") -> str:
        """The label of ``code`` in ``lang`` (``"ja"`` or ``"en"``); unknown codes as they are."""
        if code is None:
            return ""
        term = self.terms.get(code)
        if term is None:
            return str(code)
        return term[1] if lang == "en" else term[0]

    def key(self, code) -> str:
        """The UI catalogue key of ``code``."""
        return f"{self.name}.{code}"

    def __contains__(self, code) -> bool:
        return code in self.terms


# 避難所の開設状況. The stored code is the Japanese word (files and staff write it so).
SHELTER_STATUSES = Vocabulary(
    "shelter_status",
    {
        "未開設": ("未開設", "Not open"),
        "開設": ("開設", "Open"),
        "満員": ("満員", "Full"),
        "閉鎖": ("閉鎖", "Closed"),
    },
)

# 安否 (the status a safety reply gives).
SAFETY_STATUSES = Vocabulary(
    "safety_status",
    {
        "無事": ("無事", "Safe"),
        "負傷": ("負傷", "Injured"),
        "要救助": ("要救助", "Needs rescue"),
        "不明": ("不明", "Unknown"),
    },
)

# What staff did to reach a resident who has not replied.
FOLLOW_UP_ACTIONS = Vocabulary(
    "follow_up_action",
    {
        "phone": ("電話", "Phone"),
        "visit": ("訪問", "Visit"),
        "reminder": ("再通知", "Reminder"),
    },
)

# What came of it. The first two mean the resident was reached (confirmed).
FOLLOW_UP_OUTCOMES = Vocabulary(
    "follow_up_outcome",
    {
        "reached_safe": ("無事確認", "Reached, safe"),
        "reached_needs_help": ("要支援確認", "Reached, needs help"),
        "no_answer": ("不通", "No answer"),
        "not_home": ("不在", "Not home"),
        "moved": ("転居", "Moved away"),
    },
)

# Triage of a report (post) by the HQ's operators.
TRIAGE_STATES = Vocabulary(
    "triage",
    {
        "new": ("未処理", "New"),
        "verified": ("確認済", "Verified"),
        "handled": ("対応済", "Handled"),
        "dismissed": ("対象外", "Dismissed"),
    },
)

# Damage categories of reports, posts and incidents.
CATEGORIES = Vocabulary(
    "category",
    {
        "浸水・冠水": ("浸水・冠水", "Flooding"),
        "土砂災害": ("土砂災害", "Landslide"),
        "火災": ("火災", "Fire"),
        "建物被害": ("建物被害", "Building damage"),
        "道路・交通": ("道路・交通", "Roads / traffic"),
        "停電": ("停電", "Power outage"),
        "断水": ("断水", "Water outage"),
        "救助要請": ("救助要請", "Rescue request"),
        "避難所": ("避難所", "Shelter"),
        "その他": ("その他", "Other"),
    },
)

# 指定緊急避難場所 / 指定避難所 / both.
SHELTER_KINDS = Vocabulary(
    "shelter_kind",
    {
        "emergency_site": ("指定緊急避難場所", "Emergency evacuation site"),
        "shelter": ("指定避難所", "Designated shelter"),
        "both": ("指定緊急避難場所・指定避難所", "Emergency site and shelter"),
    },
)

# Hazards a shelter is designated for, and hazard-area kinds (災害種別).
HAZARDS = Vocabulary(
    "hazard",
    {
        "flood": ("洪水", "Flood"),
        "landslide": ("崖崩れ、土石流及び地滑り", "Landslide"),
        "storm_surge": ("高潮", "Storm surge"),
        "earthquake": ("地震", "Earthquake"),
        "tsunami": ("津波", "Tsunami"),
        "large_fire": ("大規模な火事", "Large fire"),
        "inland_flood": ("内水氾濫", "Inland flooding"),
        "volcano": ("火山現象", "Volcanic phenomena"),
    },
)

# Kinds of hazard area (the hazard_areas layer's ``kind``), named as the maps name the areas.
HAZARD_AREA_KINDS = Vocabulary(
    "hazard_area_kind",
    {
        "flood": ("浸水想定区域", "Flood inundation area"),
        "inland_flood": ("内水浸水想定区域", "Inland flooding area"),
        "storm_surge": ("高潮浸水想定区域", "Storm surge inundation area"),
        "tsunami": ("津波浸水想定区域", "Tsunami inundation area"),
        "landslide": ("土砂災害警戒区域", "Landslide warning area"),
    },
)

VOCABULARIES: dict[str, Vocabulary] = {
    v.name: v
    for v in (
        SHELTER_STATUSES,
        SAFETY_STATUSES,
        FOLLOW_UP_ACTIONS,
        FOLLOW_UP_OUTCOMES,
        TRIAGE_STATES,
        CATEGORIES,
        SHELTER_KINDS,
        HAZARDS,
        HAZARD_AREA_KINDS,
    )
}
