"""Damage category and urgency of a post, from Japanese and English keywords.

Explainable by design: every decision comes from a term in :data:`TERMS` or a modifier in
:data:`MODIFIERS`, and ``matched_terms`` lists them (``not:浸水`` for a negated term,
``hearsay:らしい`` for a modifier). All terms of a batch are found in one regex scan per
script (:func:`classify_many`).

Urgency: 3 life-threatening / rescue, 2 active danger (fire, collapse, overflowing river,
rising water), 1 damage report, 0 information. Then, in order: a resolved situation
(復旧, 鎮火, power is back) gives 0; rising water raises flooding to 2; a shortage (不足, not
enough) raises to 1; a warning or possibility (警報, 可能性) caps at 0 unless someone needs
rescue; a denial (デマ, hoax) that is not itself a question leaves only その他; hearsay
(らしい, apparently) lowers by one, and so does a question for the terms in
its own clause (国領町停電してる？ is a question; 断水、復旧の見込みは？ still reports an outage).

A rescue request needs someone in danger. A call for help (:data:`CALL_TERMS`: 助けて, 救助,
help, rescue ...) counts as one unless the post asks for something else — donations or
volunteers (``appeal:募金``, ``appeal:donating``), supplies (``needs:足りない``) — and no term
says someone is in danger (取り残され, 動けない, trapped, stranded ...); then it is listed as
``call:help`` and adds no category or urgency ("help the victims by donating" is no rescue).

Over ~400 lines on purpose: half of it is the term lists (data), kept next to the rules that
read them so a reviewer sees both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geodata.schema import CATEGORIES
from geodata.text import gazetteer as gz

FLOOD, LANDSLIDE, FIRE, BUILDING, ROAD, POWER, WATER, RESCUE, SHELTER, OTHER = CATEGORIES


def _terms(category, *groups) -> dict:
    """{term: (categories, urgency)} from groups ``(urgency, "term|term|...")``."""
    cats = category if isinstance(category, tuple) else (category,)
    return {t.strip(): (cats, u) for u, line in groups for t in line.split("|") if t.strip()}


# Terms: lower-case, normalized (ASCII digits, "-"). English terms must be whole words unless
# they end with "*" (a stem: flood* = flood, floods, flooded, flooding).
TERMS: dict[str, tuple[tuple[str, ...], int]] = {
    **_terms(
        FLOOD,
        (2, "床上浸水|床上|氾濫|越水|決壊|川があふれ|川が溢れ|あふれそう|溢れそう"),
        (2, "膝まで|腰まで|胸まで|水位上昇|浸かって|車が浮"),
        (2, "overflow*|levee*|burst its banks|knee-deep|waist-deep|chest-deep|up to my knee*"),
        (2, "up to my waist|up to our knee*|water rising|water is rising|rising water"),
        (2, "water keeps coming|water keeps rising"),
        (1, "冠水|浸水|水没|床下|水浸し|水びたし|増水|水位|まで水|水が来|水きて|水が入"),
        (1, "川みたい|川のよう|川になって|土のう|土嚢|マンホール|側溝|溢れ|あふれ"),
        (1, "水が引かない|水が引かず|水が増え|水がたま|水の中|堤防|くるぶし|足首まで"),
        (1, "水が上が|水かさ"),
        (1, "water coming in|water coming into|water in the house"),
        (1, "flood*|underwater|under water|submerged|inundat*|water level"),
    ),
    **_terms(
        LANDSLIDE,
        (2, "土砂崩れ|土砂災害|がけ崩れ|崖崩れ|土石流|地滑り|地すべり|斜面が崩れ|崩落"),
        (2, "土砂が流|landslide*|mudslide*|mudflow*|debris flow|rockfall|slope collapse*"),
        (1, "土砂|落石|擁壁|亀裂|崖|がけ|石が落ち|rock fall|fallen rocks"),
    ),
    **_terms(
        FIRE,
        (2, "火事|火災|燃え|炎|出火|延焼|煙|火が出|火の手"),
        (2, "fire|fires|on fire|smoke|burning|blaze|flames"),
        (1, "焦げ臭|焦げくさ|ボヤ|ぼや|火花|smells like smoke|smell of smoke"),
    ),
    **_terms(
        BUILDING,
        (2, "倒壊|全壊|半壊|壁が崩|天井が落ち|つぶれ|潰れ|collapse*"),
        (1, "損壊|屋根|瓦|窓ガラス|ガラスが割れ|ガラス割れ|窓が割れ|外壁|塀|看板"),
        (1, "傾いて|傾い|天井|雨漏り|ヒビ|ひび|崩れ|剥がれ|物置|足場|壊れ|家が倒れ|建物が倒れ"),
        (1, "roof*|window|windows|shattered|broken glass|wall|walls|damaged|leaking"),
    ),
    **_terms(
        ROAD,
        (1, "通行止め|倒木|木が倒れ|道路|道が|通れない|通れません|陥没|線路|立ち往生"),
        (1, "電柱|片側通行|歩道|踏切|ふさい|ふさが|塞い|塞が"),
        (1, "road|roads|road closed|fallen tree|tree fell|tree down|trees down|blocked"),
        (1, "sidewalk|underpass"),
        (0, "渋滞|運休|見合わせ|遅延|電車|京王線|バス|タクシー|帰宅困難|運転再開"),
        (0, "traffic|train|trains|keio line|suspended|stuck in traffic"),
    ),
    **_terms(
        (POWER, ROAD),
        (1, "信号が消え|信号消え|信号機が消え|信号が止ま|信号機が止ま"),
        (1, "traffic lights out|signals out"),
    ),
    **_terms(
        POWER,
        (1, "停電|電気が来ない|電気来ない|電気がつかない|電気つかない|電気が止ま"),
        (1, "電気が消え|真っ暗"),
        (1, "power outage|outage|blackout|power out|power is out|no power|lost power|power cut"),
        (1, "without power|lights are out|lights out|electricity out|no electricity"),
        (1, "power went out|power's out|power is down|power down"),
    ),
    **_terms(
        WATER,
        (1, "断水|水が出ない|水出ない|水が出ません|水道が止ま|水道止ま|水も止ま|水が止ま"),
        (1, "水が来ない|水が出なく|水道|トイレが流せない|受水槽"),
        (1, "water outage|no water|no running water|water supply|water cut|tap water|faucet"),
        (0, "給水車|給水所|給水"),
    ),
    **_terms(
        RESCUE,
        (3, "助けて|救助|取り残され|閉じ込め|動けない|2階に避難|二階に避難|屋根の上"),
        (3, "下敷き|救急車|意識がない|意識不明|溺れ|逃げ遅れ|孤立|避難できない|出られない"),
        (3, "#救助|中に人|2階に逃げ|二階に逃げ|閉じこめ|動けず|動けません|出られません|屋上に避難"),
        (3, "出られず|川に落ち|stuck in a"),
        (3, "sos|help|rescue|trapped|stranded|ambulance|unconscious|drowning|can't get out"),
        (3, "cannot get out|stuck in the|stuck in my|stuck in her|stuck in his|stuck in our"),
        (3, "rooftop*|upstairs|people inside|someone inside"),
        (2, "連絡が取れない|連絡取れない|連絡が取れません|けが人|けがを|けがし|ケガ|怪我"),
        (2, "missing|injured"),
    ),
    **_terms((RESCUE, FLOOD), (3, "流され|swept away")),
    **_terms(
        SHELTER,
        (1, "満員|is full|are full"),
        (0, "避難所|避難|避難者|毛布|物資|炊き出し|体育館|受け入れ|避難指示|避難勧告"),
        (0, "shelter*|evacuation center|evacuat*|blankets|supplies|crowded"),
    ),
    # Words that contain a term but are not about damage: they swallow the term.
    **_terms(
        (),
        (0, "炎上|禁煙|喫煙|煙草|人があふれ|人であふれ|人で溢れ|人あふれ"),
        (0, "firefighter*|fire department|fire dept|fire truck*|fire engine*|fire station"),
        (0, "firework*|no smoking|no power cut|no power outage"),
    ),
}

# Calls for help: they name rescue but no one in danger (see the module docstring). Every other
# rescue term says someone is in danger.
CALL_TERMS = frozenset(("助けて", "救助", "#救助", "救急車", "sos", "help", "rescue", "ambulance"))

# Terms that report the end of a situation: category kept, urgency 0.
RESOLVED_TERMS = {
    "水が引い": (FLOOD,),
    "鎮火": (FIRE,),
    "receded": (FLOOD,),
    "water has gone down": (FLOOD,),
    "fire is out": (FIRE,),
    "power is back": (POWER,),
    "power restored": (POWER,),
    "power back": (POWER,),
    "lights are back": (POWER,),
    "water is back": (WATER,),
    "water restored": (WATER,),
    "水が出るように": (WATER,),
    "electricity is back": (POWER,),
    "power is back on": (POWER,),
}
TERMS.update({t: (cats, 0) for t, cats in RESOLVED_TERMS.items()})

# Modifiers (no category). Those ending with "$" only count at the end of a sentence.
MODIFIERS: dict[str, str] = {
    **dict.fromkeys(
        "復旧し|復旧済|復旧!|復旧$|解消|再開|開通|解除|撤去|動き出|収まっ|救助され|消えた|消えました|"
        "restored|resumed|"
        "reopened|extinguished|back on|back now|put out|all clear".split("|")
        + list(RESOLVED_TERMS),
        "resolved",
    ),
    **dict.fromkeys(
        "らしい|らしく|っぽい|とのこと|との事|そうです|だそう|聞いた|噂|だって$|たって$|るって$|"
        "いって$|heard|apparently|"
        "reportedly|rumor|rumour|allegedly|someone said".split("|"),
        "hearsay",
    ),
    **dict.fromkeys("?|ますか|ですか|でしょうか|ませんか|かな$".split("|"), "question"),
    **dict.fromkeys("デマ|誤情報|fake news|hoax|false rumor|false rumour".split("|"), "denied"),
    **dict.fromkeys(
        "警戒情報|警報|注意報|危険があ|危険性|おそれ|恐れ|可能性|に注意|訓練|予報|備え|warning|"
        "advisory|"
        "drill|stay alert".split("|"),
        "info",
    ),
    **dict.fromkeys(
        "増えて|増して|上がって|上昇|どんどん|rising|keeps coming|keep coming|getting higher".split(
            "|"
        ),
        "rising",
    ),
    **dict.fromkeys(
        "不足|足りない|足りません|足りず|足りてない|詰まって|not enough|out of|need more|needs more|"
        "running out|running low".split("|"),
        "needs",
    ),
    # An appeal for donations or volunteers: a call for help in it is not a rescue request.
    **dict.fromkeys(
        "募金|寄付|義援金|義捐金|支援金|ボランティア|クラウドファンディング|クラファン|被災者|被災地|"
        "donate|donates|donated|donating|donation|donations|volunteer|volunteers|volunteering|"
        "fundraiser|fundraising|raise funds|raising funds|raise money|raising money|charity|"
        "relief fund|relief effort|relief efforts|gofundme|crowdfunding|victims".split("|"),
        "appeal",
    ),
}

# Japanese negation right after a term: 浸水はありません, 冠水していない, 停電もなし,
# 倒壊した建物はない (a short gap, then は/も + negation).
_VERBISH = (
    r"(?:してい|してる|して|し|されてい|されて|され|起きてい|起きて|起き|あり|出てい|出て|でて"
    r"|来てい|来て|きてい|きて|てい|てる|て|でき|必要|被害|確認され|見られ|い|無|な)"
)
_NEG_WORD = r"(?:ない|ません|ず|なし|無し|ゼロ|なかった|無かった|なく)"
_NEG_JA = re.compile(
    r"(?:[はがもをの]|では|じゃ|って)?\s?(?:" + _VERBISH + "{0,2}" + _NEG_WORD + ")"
    r"|[^、。,.!?\s\x00]{0,6}?(?:[はも]" + _VERBISH + "{0,2}" + _NEG_WORD + r"|なし|無し|ゼロ)"
)
# English negation in the two words before a term: "not flooded", "no one trapped".
_NEG_EN = re.compile(
    r"(?:\b(?:no|not|never|without|zero|none|nobody|no one|nothing)|n't)(?:'s)?(?:\s+\w+){0,2}\s+$"
)
_SENTENCE_END = frozenset("\x00 \n!?.,、。)」』…ほ本")

_RANK = {c: i for i, c in enumerate(CATEGORIES)}


@dataclass(frozen=True)
class Classification:
    """What a post is about.

    Attributes
    ----------
    categories : subset of :data:`geodata.schema.CATEGORIES`, most relevant first (highest
        urgency, then first mentioned); ``["その他"]`` when nothing matched.
    urgency : 0 (information) .. 3 (life-threatening).
    matched_terms : the words that decided, in text order; ``not:`` marks a negated term,
        ``call:`` a call for help that did not count as a rescue request (an appeal, no one in
        danger), ``resolved:``/``hearsay:``/``question:``/``info:``/``rising:``/``needs:``/
        ``denied:``/``appeal:`` a modifier.
    """

    categories: list[str]
    urgency: int
    matched_terms: list[str]


NOTHING = Classification([OTHER], 0, [])


# Endings a stem may take: flood* -> flood, floods, flooded, flooding, floodwater ...
_STEM_ENDINGS = ("", "e", "s", "es", "ed", "d", "ing", "ion", "ions", "er", "ers", "water")


class _Matcher:
    """The compiled patterns and per-term facts (built once, shared).

    Japanese terms are found by ``findall`` on one pattern that also matches the batch
    separator and captures, by lookahead, the rest of the term's clause and the character
    ending it (negation, question and sentence end are read from those). No match objects, no
    positions: the scan returns a flat stream of tuples. English terms (fewer) are found by ``finditer`` with positions, as
    their negation comes before them ("not flooded").
    """

    def __init__(self) -> None:
        facts: dict[str, tuple] = {}
        for term, (cats, urgency) in TERMS.items():
            resolved = term in RESOLVED_TERMS
            endings = _STEM_ENDINGS if term.endswith("*") else ("",)
            call = term in CALL_TERMS
            for ending in endings:
                facts.setdefault(term.rstrip("*") + ending, ("term", cats, urgency, resolved, call))
        for term, kind in MODIFIERS.items():
            facts.setdefault(term.rstrip("$"), ("mod", kind, term.endswith("$")))
        self.facts = facts
        ja = [w for w in facts if not w.isascii()]
        en = [w for w in facts if w.isascii()]
        # After each match: the rest of its clause and the character that ends the clause.
        self.ja = re.compile(
            "((?:" + gz.trie_regex([gz.SEPARATOR, *ja]) + "))(?=(" + _CLAUSE + ")(.?))", re.DOTALL
        )
        self.en = re.compile(gz.trie_regex(en))
        self.en_clause = re.compile(_CLAUSE + "(.?)", re.DOTALL)


_CLAUSE = r"[^\x00、。,.!?\n]*"
_QUESTION_ENDS = ("ですか", "ますか", "でしょうか", "ませんか")
_MATCHER: _Matcher | None = None


def _matcher() -> _Matcher:
    global _MATCHER
    if _MATCHER is None:
        _MATCHER = _Matcher()
    return _MATCHER


def classify(text: str | None) -> Classification:
    """Classify one post.

    Examples
    --------
    >>> c = classify("国領町3丁目、冠水して車が通れない #台風")
    >>> c.categories, c.urgency
    (['浸水・冠水', '道路・交通'], 1)
    >>> classify("浸水はありません").categories
    ['その他']
    """
    return _classify_batch([text])[0]


def classify_many(texts) -> pd.DataFrame:
    """Classify many posts in one regex pass per script.

    Parameters
    ----------
    texts : sequence or Series of str (None allowed).

    Returns
    -------
    DataFrame indexed like ``texts`` with columns categories (list), urgency (int),
    matched_terms (list).
    """
    index = texts.index if isinstance(texts, pd.Series) else None
    results = _classify_batch(list(texts))
    frame = pd.DataFrame(
        {
            "categories": pd.Series([r.categories for r in results], dtype=object),
            "urgency": np.fromiter((r.urgency for r in results), np.int64, len(results)),
            "matched_terms": pd.Series([r.matched_terms for r in results], dtype=object),
        }
    )
    return frame.set_axis(index) if index is not None else frame


classify.many = classify_many  # the batch form, used by ingest.base.IngestContext


_MEMO: dict = {}  # the terms of a post -> its classification
_TOKENS: dict = {}  # (word, rest of clause, clause end) -> what the match says
_MEMO_LIMIT = 200_000


PLAIN, QUESTIONED, SUBJECT, NEGATED = 0, 1, 2, 3  # how a term counts in its post


def _classify_batch(texts: Sequence) -> list[Classification]:
    matcher = _matcher()
    facts = matcher.facts
    joined, starts = gz.normalize_batch(texts, strip_urls=True)
    joined += gz.SEPARATOR  # every text, the last one too, ends with a separator
    # text -> [(word, state, rest of clause, negation text, (word, state)), ...]
    found: dict[int, list] = {}
    negated: set[int] = set()  # texts holding a negated term
    tokens = _TOKENS
    if len(tokens) > _MEMO_LIMIT:
        tokens.clear()
    i = 0
    current: list = []
    for token in matcher.ja.findall(joined):
        if token[0] == gz.SEPARATOR:
            if current:
                found[i] = current
                current = []
            i += 1
            continue
        hit = tokens.get(token)
        if hit is None:
            hit = tokens[token] = _read_token(token, facts)
        if hit is not None:
            current.append(hit)
            if hit[1] == NEGATED:
                negated.add(i)
    english = []
    for match in matcher.en.finditer(joined):
        start, stop = match.span()
        before = joined[start - 1] if start else " "
        if before.isascii() and (before.isalnum() or before == "'"):
            continue
        if joined[stop : stop + 1].isalpha() and joined[stop].isascii():
            continue
        word = match.group()
        if facts[word][0] == "mod":
            english.append((start, (word, PLAIN, "", "", (word, PLAIN))))
            continue
        clause = matcher.en_clause.match(joined, stop)
        window = joined[max(0, start - 30) : start]
        if _maybe_negated(window) and _NEG_EN.search(window) is not None:
            state = NEGATED
        elif clause.group(1) == "?" or clause.group(0).endswith(_QUESTION_ENDS):
            state = QUESTIONED
        else:
            state = PLAIN
        english.append((start, (word, state, clause.group(0), "", (word, state))))
    if english:
        owners = np.searchsorted(starts, [p for p, _ in english], side="right") - 1
        for owner, (_, entry) in zip(owners.tolist(), english, strict=True):
            found.setdefault(owner, []).append(entry)
            if entry[1] == NEGATED:
                negated.add(owner)
    for i in negated:
        if len(found[i]) > 1:
            found[i] = _link_negations([list(e) for e in found[i]], facts)
    results = [NOTHING] * len(texts)
    memo = _MEMO
    for i, entries in found.items():
        key = tuple([e[4] for e in entries])
        result = memo.get(key)
        if result is None:
            result = _decide(key, facts)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = result
        results[i] = result
    return results


def _link_negations(entries: list, facts: dict) -> list:
    """Attach each negation to the right term of its clause.

    A negation read after a term but holding a later term belongs to that later term
    (避難所は満員ではありません negates 満員). A term earlier in the clause of a negated term
    is its subject: still the topic, but no damage reported (避難所 above, "the road is not
    flooded").
    """
    for k, later in enumerate(entries):
        if facts[later[0]][0] != "term":
            continue
        for earlier in entries[:k]:
            if facts[earlier[0]][0] != "term" or later[0] not in earlier[2]:
                continue  # a modifier, or another clause
            if earlier[1] == NEGATED and later[0] in earlier[3]:
                earlier[1] = PLAIN
            if later[1] == NEGATED and earlier[1] != NEGATED:
                earlier[1] = SUBJECT
    return [(w, state, rest, negation, (w, state)) for w, state, rest, negation, _ in entries]


def _maybe_negated(window: str) -> bool:
    """Cheap test before the English negation regex: most windows hold none of its words."""
    return (
        "no" in window
        or "n't" in window
        or "never" in window
        or "without" in window
        or ("zero" in window)
    )


def _read_token(token: tuple[str, str, str], facts: dict) -> tuple | None:
    """(word, state, rest of clause, negation text, (word, state)) for a Japanese match.

    None for a modifier that only counts at the end of a sentence and is not there.

    ``token`` is (word, rest of its clause, the character ending the clause).
    """
    word, rest, closer = token
    fact = facts[word]
    if fact[0] == "mod":
        if fact[2] and (rest[:1] or closer) not in _SENTENCE_END:
            return None
        return (word, PLAIN, "", "", (word, PLAIN))
    negation = ""
    head = rest[:16]
    if "な" in head or "ません" in head or "ず" in head or "無" in head or "ゼロ" in head:
        match = _NEG_JA.match(rest)
        negation = match.group() if match else ""
    if negation:
        state = NEGATED
    elif closer == "?" or rest.endswith(_QUESTION_ENDS):
        state = QUESTIONED
    else:
        state = PLAIN
    return (word, state, rest, negation, (word, state))


def _decide(signature: tuple, facts: dict) -> Classification:
    """Categories, urgency and explanation from the terms found in one post."""
    best: dict[str, tuple[int, int]] = {}  # category -> (highest urgency, first position)
    urgency = 0
    modifiers: set[str] = set()
    explained: list[str] = []
    calls_set_aside = _calls_set_aside(signature, facts)
    for position, (word, state) in enumerate(signature):
        fact = facts[word]
        if fact[0] == "mod":
            modifiers.add(fact[1])
            explained.append(f"{fact[1]}:{word}")
            continue
        _, cats, term_urgency, resolved, call = fact
        if not cats:
            continue
        if state == NEGATED:
            explained.append(f"not:{word}")
            continue
        if call and calls_set_aside:
            explained.append(f"call:{word}")
            continue
        explained.append(word)
        if resolved:
            modifiers.add("resolved")
        if state == SUBJECT:
            term_urgency = 0
        urgency = max(urgency, term_urgency - (state == QUESTIONED))
        for cat in cats:
            old = best.get(cat)
            if old is None:
                best[cat] = (term_urgency, position)
            elif term_urgency > old[0]:
                best[cat] = (term_urgency, old[1])
    if "denied" in modifiers and "question" not in modifiers:
        best = {}  # 火事はデマです: the post denies the report
    if not best:
        return Classification([OTHER], 0, list(dict.fromkeys(explained)))
    categories = sorted(best, key=lambda c: (-best[c][0], best[c][1], _RANK[c]))
    urgency = _adjust(urgency, modifiers, FLOOD in best)
    return Classification(categories, urgency, list(dict.fromkeys(explained)))


def _calls_set_aside(signature: tuple, facts: dict) -> bool:
    """Whether the post's calls for help are not a rescue request: it asks for something else
    (an appeal, supplies) and no term says someone is in danger."""
    asks = danger = False
    for word, state in signature:
        fact = facts[word]
        if fact[0] == "mod":
            asks = asks or fact[1] in ("appeal", "needs")
        elif RESCUE in fact[1] and not fact[4] and state != NEGATED:
            danger = True
    return asks and not danger


def _adjust(urgency: int, modifiers: set[str], flooding: bool) -> int:
    if "resolved" in modifiers:
        return 0
    if "rising" in modifiers and flooding:
        urgency = max(urgency, 2)
    if "needs" in modifiers:
        urgency = max(urgency, 1)
    if "info" in modifiers and urgency < 3:
        urgency = 0
    if "hearsay" in modifiers:
        urgency -= 1
    return max(urgency, 0)
