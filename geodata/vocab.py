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

(Over ~400 lines on purpose: every vocabulary of the domain in one file, the one the UI
catalogue and the printed outputs read.)
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

# 警戒レベル相当: the alert level an official warning corresponds to (内閣府's 5 levels).
ALERT_LEVELS = Vocabulary(
    "alert_level",
    {
        "1": ("警戒レベル１相当", "Alert level 1"),
        "2": ("警戒レベル２相当", "Alert level 2"),
        "3": ("警戒レベル３相当", "Alert level 3"),
        "4": ("警戒レベル４相当", "Alert level 4"),
        "5": ("警戒レベル５相当", "Alert level 5"),
    },
)

# What an official warning is about (the hazard of its kind).
WARNING_HAZARDS = Vocabulary(
    "warning_hazard",
    {
        "river_flood": ("河川氾濫", "River flooding"),
        "heavy_rain": ("大雨（浸水）", "Heavy rain (inundation)"),
        "landslide": ("土砂災害", "Landslide"),
        "flood": ("洪水", "Flood"),
        "storm_surge": ("高潮", "Storm surge"),
        "record_rain": ("記録的短時間大雨", "Record short-term heavy rain"),
        "other": ("その他", "Other"),
    },
)

# The kinds of official warnings (気象庁 / 国土交通省), named as in force since the 2026 revision
# of 防災気象情報 (28 May 2026): level-numbered 注意報 / 警報 / 危険警報 / 特別警報. The stored
# code is the kind; its hazard and level are in WARNING_KIND_HAZARD and WARNING_KIND_LEVEL.
# 土砂災害警戒情報 (VXWW50) is a レベル４土砂災害危険警報; a flood forecast's former names
# (氾濫注意情報 / 氾濫警戒情報 / 氾濫危険情報 / 氾濫発生情報) map to the river_flood kinds;
# 洪水注意報 / 洪水警報 exist only in the transitional VPWW54 message (until 2028).
WARNING_KINDS = Vocabulary(
    "warning_kind",
    {
        "river_flood_emergency": ("レベル５氾濫特別警報", "Level 5 river flood emergency warning"),
        "river_flood_danger": ("レベル４氾濫危険警報", "Level 4 river flood danger warning"),
        "river_flood_warning": ("レベル３氾濫警報", "Level 3 river flood warning"),
        "river_flood_advisory": ("レベル２氾濫注意報", "Level 2 river flood advisory"),
        "heavy_rain_emergency": ("レベル５大雨特別警報", "Level 5 heavy rain emergency warning"),
        "heavy_rain_danger": ("レベル４大雨危険警報", "Level 4 heavy rain danger warning"),
        "heavy_rain_warning": ("レベル３大雨警報", "Level 3 heavy rain warning"),
        "heavy_rain_advisory": ("レベル２大雨注意報", "Level 2 heavy rain advisory"),
        "landslide_emergency": ("レベル５土砂災害特別警報", "Level 5 landslide emergency warning"),
        "landslide_danger": ("レベル４土砂災害危険警報", "Level 4 landslide danger warning"),
        "landslide_warning": ("レベル３土砂災害警報", "Level 3 landslide warning"),
        "landslide_advisory": ("レベル２土砂災害注意報", "Level 2 landslide advisory"),
        "storm_surge_emergency": ("レベル５高潮特別警報", "Level 5 storm surge emergency warning"),
        "storm_surge_danger": ("レベル４高潮危険警報", "Level 4 storm surge danger warning"),
        "storm_surge_warning": ("レベル３高潮警報", "Level 3 storm surge warning"),
        "storm_surge_advisory": ("レベル２高潮注意報", "Level 2 storm surge advisory"),
        "flood_warning": ("洪水警報", "Flood warning"),
        "flood_advisory": ("洪水注意報", "Flood advisory"),
        "record_rain": ("記録的短時間大雨情報", "Record short-term heavy rain information"),
        "other_emergency": ("特別警報（その他）", "Emergency warning (other)"),
        "other_warning": ("警報（その他）", "Warning (other)"),
        "other_advisory": ("注意報（その他）", "Advisory (other)"),
    },
)
WARNING_KIND_HAZARD = {code: code.rsplit("_", 1)[0] for code in WARNING_KINDS.codes}
WARNING_KIND_HAZARD["record_rain"] = "record_rain"
_GRADE_LEVEL = {"emergency": 5, "danger": 4, "warning": 3, "advisory": 2}
# The alert level (警戒レベル相当) of a kind; None: the kind has none (暴風警報, 記録的短時間大雨情報).
WARNING_KIND_LEVEL: dict[str, int | None] = {
    code: (
        None
        if WARNING_KIND_HAZARD[code] in ("other", "record_rain")
        else _GRADE_LEVEL[code.rsplit("_", 1)[1]]
    )
    for code in WARNING_KINDS.codes
}

# What a message says of a warning in an area (Body/Warning/Item/Kind/Status).
WARNING_STATUSES = Vocabulary(
    "warning_status",
    {
        "issued": ("発表", "Issued"),
        "continued": ("継続", "Continued"),
        "lifted": ("解除", "Lifted"),
        "none": ("なし", "None"),
    },
)

# The stage a river's water level has reached (水位の危険度レベル of a water-level station).
RIVER_STAGES = Vocabulary(
    "river_stage",
    {
        "normal": ("平常", "Normal"),
        "standby": ("水防団待機水位", "Flood-fighting standby level"),
        "advisory": ("氾濫注意水位", "Flood advisory level"),
        "evacuation": ("避難判断水位", "Evacuation decision level"),
        "danger": ("氾濫危険水位", "Flood danger level"),
    },
)
# The alert level a stage corresponds to (レベル１水防団待機水位 … レベル４氾濫危険水位).
RIVER_STAGE_LEVEL = {"normal": None, "standby": 1, "advisory": 2, "evacuation": 3, "danger": 4}

# Quantities the pages, maps and exports label (人口, 避難者数 …): one word per quantity.
MEASURES = Vocabulary(
    "measure",
    {
        "population": ("人口", "Population"),
        "households": ("世帯数", "Households"),
        "density": ("人口密度（人/km²）", "Population density (/km²)"),
        "evacuees": ("避難者数", "Evacuees"),
        "capacity": ("収容人数", "Capacity"),
        "occupancy": ("収容率", "Occupancy"),
    },
)

# クロノロジー: the kinds of an entry of the HQ's chronology. ``system`` entries are written by
# the dashboard itself (geodata/chronology.py: a shelter opened, a warning issued …).
CHRONO_KINDS = Vocabulary(
    "chrono_kind",
    {
        "報告": ("報告", "Report"),
        "指示": ("指示", "Instruction"),
        "決定": ("決定", "Decision"),
        "要請": ("要請", "Request"),
        "連絡": ("連絡", "Notice"),
        "system": ("システム", "System event"),
    },
)

# The state of a task (an instruction or a request with an assignee).
TASK_STATES = Vocabulary(
    "task_state",
    {
        "未着手": ("未着手", "Not started"),
        "対応中": ("対応中", "In progress"),
        "完了": ("完了", "Done"),
    },
)

# What a system entry of the chronology records (its ``event``); each is written exactly once,
# keyed by what caused it. evacuation_* and campaign_started are written by the evacuation
# information and LINE campaign modules through geodata.chronology.record_event.
SYSTEM_EVENTS = Vocabulary(
    "system_event",
    {
        "shelter_opened": ("避難所開設", "Shelter opened"),
        "shelter_full": ("避難所満員", "Shelter full"),
        "shelter_closed": ("避難所閉鎖", "Shelter closed"),
        "warning_issued": ("警報等発表", "Warning issued"),
        "warning_lifted": ("警報等解除", "Warning lifted"),
        "incident_verified": ("重大事案確認", "Critical incident verified"),
        "map_exported": ("状況図出力", "Situation map exported"),
        "source_stale": ("情報源途絶", "Source down"),
        "damage_report": ("被害報", "Damage report"),
        "evacuation_issued": ("避難情報発令", "Evacuation information issued"),
        "evacuation_lifted": ("避難情報解除", "Evacuation information lifted"),
        "campaign_started": ("配信開始", "Campaign started"),
    },
)

# What a chronology entry can be about (its links: ``{"shelter": ["S1"], "town": [...]}``).
# Not in VOCABULARIES: its labels are the names of the layers the links point into, which the
# page catalogues already hold (事案, 避難所 …); views label a link with ``CHRONO_LINKS.label``.
CHRONO_LINKS = Vocabulary(
    "chrono_link",
    {
        "shelter": ("避難所", "Shelter"),
        "incident": ("事案", "Incident"),
        "town": ("町丁目", "Town"),
        "warning": ("警報等", "Warning"),
        "evacuation": ("避難情報", "Evacuation information"),
        "campaign": ("配信", "Campaign"),
        "export": ("出力", "Export"),
        "source": ("情報源", "Source"),
        "damage_report": ("被害報", "Damage report"),
    },
)

# The 部署 of a 市 災害対策本部 (the default when BOSAI_DEPARTMENTS_FILE names no file).
DEFAULT_DEPARTMENTS = (
    "本部長室",
    "総務部",
    "危機管理課",
    "福祉部",
    "健康医療部",
    "建設部",
    "環境部",
    "教育部",
    "上下水道部",
    "広報班",
    "避難所班",
    "消防",
    "警察連絡員",
    "自衛隊連絡員",
)

# How sure a count of the damage report is: from verified reports, or not yet.
DAMAGE_CERTAINTY = Vocabulary(
    "damage_certainty",
    {"確定": ("確定", "Confirmed"), "未確認": ("未確認", "Unconfirmed")},
)

# The damage counts of 災害報告取扱要領 第4号様式 その2 (被害状況即報) that a city fills from its
# field reports: code -> (label, English). A field report holds each as ``dmg_<code>``; the
# unit of each is in DAMAGE_UNITS. docs/damage-report.md cites the 様式.
_HOUSE = {
    "total": ("全壊", "Destroyed"),
    "half": ("半壊", "Half destroyed"),
    "partial": ("一部破損", "Partly damaged"),
    "above_floor": ("床上浸水", "Flooded above floor"),
    "below_floor": ("床下浸水", "Flooded below floor"),
}
_HOUSE_UNITS = {"bldg": ("棟", "buildings"), "hh": ("世帯", "households"), "ppl": ("人", "people")}
DAMAGE_ITEMS = Vocabulary(
    "damage_item",
    {
        "dead": ("死者", "Dead"),
        "missing": ("行方不明者", "Missing"),
        "injured_serious": ("負傷者（重傷）", "Seriously injured"),
        "injured_minor": ("負傷者（軽傷）", "Slightly injured"),
        **{
            f"house_{k}_{u}": (f"住家 {ja}（{uja}）", f"Homes {en} ({uen})")
            for k, (ja, en) in _HOUSE.items()
            for u, (uja, uen) in _HOUSE_UNITS.items()
        },
        "nonres_public": ("非住家 公共建物", "Non-residential, public"),
        "nonres_other": ("非住家 その他", "Non-residential, other"),
        "road": ("道路", "Roads"),
        "bridge": ("橋りょう", "Bridges"),
        "river": ("河川", "Rivers"),
        "cliff": ("崖くずれ", "Cliff failures"),
        "water": ("水道", "Water supply"),
        "power": ("電気", "Power"),
        "gas": ("ガス", "Gas"),
        "phone": ("電話", "Telephone"),
        "fire_building": ("火災発生 建物", "Fires: buildings"),
        "fire_hazmat": ("火災発生 危険物", "Fires: hazardous materials"),
        "fire_other": ("火災発生 その他", "Fires: other"),
    },
)
# The unit each damage item is counted in (第4号様式 その2's unit column).
DAMAGE_UNITS: dict[str, str] = {
    "dead": "人",
    "missing": "人",
    "injured_serious": "人",
    "injured_minor": "人",
    **{f"house_{k}_{u}": uja for k in _HOUSE for u, (uja, _) in _HOUSE_UNITS.items()},
    "nonres_public": "棟",
    "nonres_other": "棟",
    "road": "箇所",
    "bridge": "箇所",
    "river": "箇所",
    "cliff": "箇所",
    "water": "戸",
    "power": "戸",
    "gas": "戸",
    "phone": "回線",
    "fire_building": "件",
    "fire_hazmat": "件",
    "fire_other": "件",
}

# The state of an ingest source (geodata/health.py decides which).
SOURCE_STATES = Vocabulary(
    "source_state",
    {
        "ok": ("正常", "OK"),
        "stale": ("更新遅延", "Stale"),
        "failing": ("取得失敗", "Failing"),
        "backing_off": ("取得待機", "Backing off"),
    },
)

# 避難情報 (evacuation information) the municipality issues, by 警戒レベル (内閣府 避難情報に関する
# ガイドライン, 2021: 避難勧告 abolished; the code is the level).
EVACUATION_LEVELS = Vocabulary(
    "evacuation_level",
    {
        "3": ("高齢者等避難", "Evacuation of older people etc."),
        "4": ("避難指示", "Evacuation order"),
        "5": ("緊急安全確保", "Emergency safety measures"),
    },
)

# What a record of evacuation information does to its order.
EVACUATION_ACTIONS = Vocabulary(
    "evacuation_action",
    {
        "issue": ("発令", "Issued"),
        "update": ("変更", "Updated"),
        "lift": ("解除", "Lifted"),
    },
)

# What shelter staff asked for before supply requests existed (the ``needs`` list of a shelter
# report, kept readable in old reports; new requests are :data:`SUPPLY_ITEMS`).
SHELTER_NEEDS = Vocabulary(
    "shelter_need",
    {
        "water": ("水", "Water"),
        "food": ("食料", "Food"),
        "blankets": ("毛布", "Blankets"),
        "medical": ("医療", "Medical care"),
        "power": ("電源", "Power"),
        "toilets": ("トイレ", "Toilets"),
        "milk": ("粉ミルク", "Baby milk"),
        "medicine": ("医薬品", "Medicine"),
        "staff": ("応援職員", "Staff"),
    },
)

# 要配慮者: the people needing care a shelter report counts (災害対策基本法 第8条: 高齢者, 障害者,
# 乳幼児 その他の特に配慮を要する者). Stored as ``care_<code>`` counts of shelter_status.
CARE_GROUPS = Vocabulary(
    "care_group",
    {
        "elderly": ("高齢者", "Older people"),
        "disabled": ("障害者", "People with disabilities"),
        "infants": ("乳幼児", "Infants"),
        "pregnant": ("妊産婦", "Pregnant and nursing women"),
        "foreign": ("外国人", "Foreign residents"),
        "other": ("その他の要配慮者", "Others needing care"),
    },
)

# Items a shelter asks the HQ for (物資要請); "other" carries its own text.
SUPPLY_ITEMS = Vocabulary(
    "supply_item",
    {
        "water": ("水", "Water"),
        "food": ("食料", "Food"),
        "blankets": ("毛布", "Blankets"),
        "portable_toilets": ("簡易トイレ", "Portable toilets"),
        "diapers": ("紙おむつ", "Diapers"),
        "formula": ("粉ミルク", "Infant formula"),
        "medicine": ("医薬品", "Medicine"),
        "sanitary": ("生理用品", "Sanitary products"),
        "cardboard_beds": ("段ボールベッド", "Cardboard beds"),
        "other": ("その他", "Other"),
    },
)

# How soon a supply request is needed, most urgent first.
SUPPLY_URGENCIES = Vocabulary(
    "supply_urgency",
    {
        "urgent": ("至急", "Urgent"),
        "today": ("本日中", "Today"),
        "normal": ("通常", "Normal"),
    },
)

# Where a supply request stands (geodata/supplies.py: who may move it where).
SUPPLY_STATES = Vocabulary(
    "supply_state",
    {
        "requested": ("要請中", "Requested"),
        "arranged": ("手配済", "Arranged"),
        "delivered": ("配送済", "Delivered"),
    },
)

# The role of an account (geodata/access/roles.py decides what each may do).
USER_ROLES = Vocabulary(
    "role",
    {
        "viewer": ("閲覧（壁面表示）", "Viewer (wall screen)"),
        "shelter_staff": ("避難所職員", "Shelter staff"),
        "operator": ("本部職員", "Operator"),
        "commander": (
            "本部長・指揮者（避難情報の発令）",
            "Commander (issues evacuation information)",
        ),
        "admin": ("管理者", "Administrator"),
    },
)

# What a campaign sends (geodata/campaigns.py, geodata/notices.py).
CAMPAIGN_KINDS = Vocabulary(
    "campaign_kind",
    {
        "safety_check": ("LINE安否確認", "LINE safety check"),
        "evacuation_notice": (
            "避難情報の通知（対象地域の登録者）",
            "Evacuation notice (registered residents)",
        ),
        "evacuation_broadcast": (
            "避難情報の一斉配信（全友だち）",
            "Evacuation broadcast (all friends)",
        ),
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
        ALERT_LEVELS,
        WARNING_HAZARDS,
        WARNING_KINDS,
        WARNING_STATUSES,
        RIVER_STAGES,
        MEASURES,
        SOURCE_STATES,
        EVACUATION_LEVELS,
        EVACUATION_ACTIONS,
        USER_ROLES,
        SHELTER_NEEDS,
        CARE_GROUPS,
        SUPPLY_ITEMS,
        SUPPLY_URGENCIES,
        SUPPLY_STATES,
        CHRONO_KINDS,
        TASK_STATES,
        SYSTEM_EVENTS,
        DAMAGE_CERTAINTY,
        DAMAGE_ITEMS,
        CAMPAIGN_KINDS,
    )
}
