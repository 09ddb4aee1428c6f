"""Words of the drill: post templates, place-name spellings, people's names, reply texts.

Templates take ``{p}``, a place phrase. Texts are Japanese with some English, written the way
real posts are (colloquial, hearsay, negations, typos). Every string here but the emoji encodes
to cp932, so the generated CSVs can also be written in Shift_JIS.
"""

from __future__ import annotations

from geodata.vocab import CATEGORIES

FLOOD, SLIDE, FIRE, BUILDING, ROAD, POWER, WATER, RESCUE, SHELTER, OTHER = CATEGORIES.codes

# Truth urgency per category (0 info .. 3 life-threatening).
URGENCY = {FLOOD: 2, SLIDE: 2, FIRE: 2, BUILDING: 2, ROAD: 1, POWER: 1, WATER: 1, RESCUE: 3,
           SHELTER: 1, OTHER: 0}  # fmt: skip

# Templates: (text, extra categories the text also carries).
JA: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    FLOOD: [
        ("{p}、道路が完全に冠水してる。車は通れない", (ROAD,)),
        ("{p}で床上浸水です。1階は水没", ()),
        ("{p}の辺り、膝まで水が来てます", ()),
        ("多摩川があふれて{p}まで水が来た", ()),
        ("{p}、マンホールから水が噴き出してる", ()),
        ("{p} 浸水しています。足首くらい", ()),
        ("{p}のアンダーパス冠水、通行止め", (ROAD,)),
        ("{p}の地下駐車場が水没した…", ()),
        ("{p}、川みたいになってる。これ以上増えたらやばい", ()),
        ("{p}の家の前まで茶色い水。床下浸水はしてる", ()),
    ],
    SLIDE: [
        ("{p}の斜面から土砂が流れてきて道をふさいでる", (ROAD,)),
        ("{p}、がけ崩れ。擁壁が崩れた", ()),
        ("{p}の崖から小石がぱらぱら落ちてる、こわい", ()),
        ("{p} 土砂崩れで家の裏が埋まった", (BUILDING,)),
    ],
    FIRE: [
        ("{p}で火事。消防車が何台も来てる", ()),
        ("{p}、煙が上がってる。漏電かも", ()),
        ("{p}で火災発生、黒い煙が見える", ()),
    ],
    BUILDING: [
        ("{p}で屋根が飛ばされた家がある", ()),
        ("{p}、倒木で家のフェンスが壊れた", ()),
        ("{p}のアパートの外壁が剥がれてる", ()),
        ("{p}、看板が落ちてきて危ない", ()),
        ("{p} 雨漏りがひどい、天井から水", ()),
    ],
    ROAD: [
        ("京王線、{p}付近で運転見合わせ", ()),
        ("{p}の交差点、信号が消えてる。渋滞", (POWER,)),
        ("{p}、倒木で通行止めです", ()),
        ("甲州街道、{p}のあたり大渋滞", ()),
        ("{p}からバスが全然来ない", ()),
        ("{p}で車が立ち往生してる", ()),
    ],
    POWER: [
        ("{p}停電してる。真っ暗", ()),
        ("{p}、停電3時間目。スマホの充電がやばい", ()),
        ("{p}一帯停電、冷蔵庫が心配", ()),
        ("{p} まだ停電中。いつ復旧？", ()),
    ],
    WATER: [
        ("{p}、断水してる。水が出ない", ()),
        ("{p}で断水。給水車はどこに来る？", ()),
        ("{p}の水道、茶色い水しか出ない", ()),
    ],
    RESCUE: [
        ("【救助要請】{p}、1階が浸水して2階に避難中。高齢の母が動けません", (FLOOD,)),
        ("{p}で車いすの祖父が取り残されてます。助けてください", ()),
        ("助けて！{p}、水がどんどん上がってくる。子ども2人います", (FLOOD,)),
        ("{p}のマンション、1階の人たちが屋上に避難してる。救助お願いします", (FLOOD,)),
        ("{p} 屋根の上に人がいる！119つながらない", (FLOOD,)),
        ("{p}で高齢の一人暮らしの方と連絡が取れません", ()),
    ],
    SHELTER: [
        ("{p}の避難所、もう人がいっぱい", ()),
        ("{p}に避難しました。毛布が足りないみたい", ()),
        ("{p}、開いてました。ペットOKだった", ()),
        ("{p}は受付に行列。水と食料が足りてない", ()),
        ("{p} 避難所開設されたそうです", ()),
        ("{p}に来たけど満員で別の避難所へ", ()),
    ],
    OTHER: [
        ("{p}、風がすごい。外に出ないようにしてます", ()),
        ("{p}、今のところ大丈夫です", ()),
        ("雨の音がすごくて眠れない。{p}", ()),
        ("{p}のコンビニ、パンとカップ麺が売り切れ", ()),
        ("{p}、みんな無事でありますように", ()),
        ("{p}で片付けが始まってます。泥がすごい", ()),
    ],
}

EN: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    FLOOD: [
        ("Flooding near {p}, water up to the knees", ()),
        ("Street flooded at {p}. Cars stuck.", (ROAD,)),
        ("The Tama river overflowed, water reached {p}", ()),
    ],
    SLIDE: [("Landslide at {p}, the road is blocked", (ROAD,))],
    FIRE: [("Fire near {p}, lots of smoke", ())],
    BUILDING: [("Roof blown off a house near {p}", ())],
    ROAD: [("Keio line suspended near {p}", ()), ("Road closed at {p}, fallen tree", ())],
    POWER: [("Power outage at {p} since an hour", ())],
    WATER: [("No running water at {p}", ())],
    RESCUE: [
        ("HELP: people trapped on the 2nd floor at {p}, water rising", (FLOOD,)),
        ("Elderly neighbour at {p} cannot get out, please send rescue", ()),
    ],
    SHELTER: [("Shelter at {p} is full", ()), ("Evacuated to {p}, they need blankets", ())],
    OTHER: [("Stay safe everyone around {p}", ()), ("Crazy wind at {p} tonight", ())],
}

# Hearsay: the category holds, but the writer did not see it.
HEARSAY = {
    FLOOD: [
        "{p}で浸水してるらしい",
        "{p}、水没してるって友達から連絡きた",
        "{p}が冠水してるとか…本当？",
    ],
    FIRE: ["{p}で火事があったらしい"],
    BUILDING: ["{p}で家が倒れたって聞いた"],
    RESCUE: ["{p}で取り残されてる人がいるらしい、誰か確認できる？"],
    SHELTER: ["{p}の避難所、満員って聞いた"],
    SLIDE: ["{p}でがけ崩れがあったらしい"],
}

# Negations: a category word in the text, but no such damage (truth: その他).
NEGATED_JA = [
    "{p}は冠水していません。普通に通れます",
    "{p}、浸水はしてないです。ご心配なく",
    "{p}の火事はデマです、火災は起きていません",
    "{p}、停電はしていません",
    "{p} 避難所はまだ開いていないみたい",
]
NEGATED_EN = ["No flooding at {p}, roads are fine", "{p}: no power cut here"]

# Copy-paste rumours (拡散希望): (template, categories).
RUMOURS = [
    ("【拡散希望】多摩川の堤防が{p}で決壊したそうです！すぐ高いところへ逃げて", (FLOOD,)),
    ("【拡散希望】{p}の避難所はもう満員で入れないそうです。別の避難所へ", (SHELTER,)),
    ("拡散お願いします。{p}で水道水が汚染されたので飲まないでとのこと", (WATER,)),
    ("【拡散】{p}で救助を待っている人がいます。ボートが必要です", (RESCUE, FLOOD)),
]
RUMOUR_PREFIXES = ["", "", "拡散: ", "RT ", "これ本当？ ", "転載 "]
RUMOUR_SUFFIXES = ["", "", "！！", " とのこと", " 拡散希望", "…"]

# Place phrases that locate nothing.
NO_PLACE_JA = [
    "近所",
    "家の前",
    "うちの前の道",
    "この辺",
    "実家の近く",
    "職場の近く",
    "近くのコンビニ",
]
NO_PLACE_EN = ["my street", "our neighbourhood", "my place"]

HASHTAGS = ["調布", "台風", "多摩川", "調布市", "大雨", "拡散希望"]
EMOJI = ["😭", "🙏", "⚠️", "🌊", "☔", "💦", "🚒", "🆘", "😱", "💧"]
URLS = [
    "https://www.city.chofu.lg.jp/",
    "https://www.jma.go.jp/bosai/",
    "https://www.river.go.jp/",
    "https://photos.example.net/p/",
]

ROMAJI = {
    "飛田給": "Tobitakyu", "上石原": "Kamiishiwara", "富士見町": "Fujimi-cho",
    "下石原": "Shimoishiwara", "小島町": "Kojima-cho", "布田": "Fuda", "下布田": "Shimofuda",
    "国領町": "Kokuryo-cho", "染地": "Someji", "多摩川": "Tamagawa", "佐須町": "Sasu-cho",
    "柴崎": "Shibasaki", "菊野台": "Kikunodai", "東つつじケ丘": "Higashi-Tsutsujigaoka",
    "西つつじケ丘": "Nishi-Tsutsujigaoka", "入間町": "Irima-cho", "仙川町": "Sengawa-cho",
    "緑ケ丘": "Midorigaoka", "野水": "Nomizu", "西町": "Nishimachi", "若葉町": "Wakaba-cho",
    "調布ケ丘": "Chofugaoka", "深大寺元町": "Jindaiji-Motomachi",
    "深大寺北町": "Jindaiji-Kitamachi", "深大寺東町": "Jindaiji-Higashimachi",
    "深大寺南町": "Jindaiji-Minamimachi", "八雲台": "Yakumodai",
}  # fmt: skip

# Misspellings and other spellings real posts use, by town base.
TYPOS = {
    "染地": ["染池", "そめち"],
    "国領町": ["国両町", "こくりょう"],
    "布田": ["布多", "ふだ"],
    "菊野台": ["菊の台"],
    "深大寺元町": ["深代寺元町"],
    "調布ケ丘": ["調布が丘", "調布ヶ岡"],
    "飛田給": ["飛田級"],
    "下石原": ["下石原町"],
}

# Area names and nicknames -> the town bases they cover.
AREAS = {
    "つつじヶ丘": ("東つつじケ丘", "西つつじケ丘"),
    "仙川": ("仙川町",),
    "国領": ("国領町",),
    "調布駅前": ("布田", "小島町"),
    "駅前": ("布田", "小島町"),
    "多摩川沿い": ("多摩川", "染地", "下布田", "布田"),
    "河川敷のほう": ("多摩川", "下布田"),
    "野川沿い": ("野水", "佐須町", "柴崎", "入間町"),
    "西調布": ("上石原", "下石原", "富士見町"),
    "京王多摩川": ("多摩川",),
    "深大寺のあたり": ("深大寺元町", "深大寺南町", "深大寺北町", "深大寺東町"),
}

LANDMARK_SPELLINGS = {
    "調布駅": ["調布駅", "調布駅前", "調布駅南口", "調布駅の北口", "調布駅"],
    "国領駅": ["国領駅", "国領駅前", "国領駅のロータリー"],
    "味の素スタジアム": ["味スタ", "味の素スタジアム", "味スタ周辺"],
    "京王多摩川駅": ["京王多摩川駅", "京王多摩川"],
    "神代植物公園": ["神代植物公園", "神代植物園"],
    "電気通信大学": ["電通大", "電気通信大学"],
    "二ヶ領上河原堰": ["上河原堰", "二ヶ領上河原堰"],
    "多摩川原橋": ["多摩川原橋", "多摩川原橋のたもと", "多摩川原橋"],
    "多摩川住宅": ["多摩川住宅", "多摩川住宅の団地"],
}

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
KANJI_DIGITS = "〇一二三四五六七八九"


def town_spellings(base: str, chome: int) -> list[tuple[str, str]]:
    """Ways posts write a town: (surface, level) with level "chome" or "town".

    Examples
    --------
    >>> town_spellings("国領町", 8)[:3]
    [('国領町八丁目', 'chome'), ('国領町8丁目', 'chome'), ('国領町８丁目', 'chome')]
    """
    out: list[tuple[str, str]] = []
    bases = [base]
    if "ケ" in base:
        bases.append(base.replace("ケ", "ヶ"))
    if chome:
        digit = str(chome)
        out += [
            (f"{base}{KANJI_DIGITS[chome]}丁目", "chome"),
            (f"{base}{digit}丁目", "chome"),
            (f"{base}{digit.translate(FULLWIDTH)}丁目", "chome"),
            (f"{bases[-1]}{digit}丁目", "chome"),
            (f"{base}{digit}", "chome"),
        ]
        if base.endswith("町"):
            out.append((f"{base[:-1]}{digit}丁目", "chome"))
    out += [(b, "town") for b in bases]
    if base.endswith("町") and base not in ("西町",):
        out.append((base[:-1], "town"))
    out += [(t, "town") for t in TYPOS.get(base, [])]
    return out


def town_spellings_en(base: str, chome: int) -> list[tuple[str, str]]:
    """English spellings of a town: ("Kokuryo-cho 8-chome", "chome"), ("Kokuryo-cho", "town")."""
    roman = ROMAJI.get(base)
    if roman is None:
        return [(base, "town")]
    out = [(f"{roman} {chome}-chome", "chome")] if chome else []
    return out + [(roman, "town"), (f"{roman}, Chofu", "town")]


def shelter_spellings(name: str) -> list[str]:
    """Ways posts name a shelter: 染地小学校 -> 染地小学校, 染地小, 染地小の体育館."""
    out = [name]
    if name.endswith("小学校"):
        out += [name[:-2], name[:-2] + "の体育館"]
    elif name.endswith("中学校"):
        short = name[:-2]
        out.append(short)
        if short.startswith("第"):
            out.append(short[1:])  # 第三中 -> 三中
    elif name.startswith("都立") and name.endswith("高校"):
        out.append(name[2:])
    return out


# People (避難行動要支援者名簿): surnames and given names with katakana readings.
SURNAMES = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"),
    ("伊藤", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"),
    ("小林", "コバヤシ"), ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"),
    ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"), ("井上", "イノウエ"),
    ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"),
    ("阿部", "アベ"), ("石川", "イシカワ"), ("中島", "ナカジマ"), ("小川", "オガワ"),
    ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"), ("藤田", "フジタ"),
    ("近藤", "コンドウ"), ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"),
    ("坂本", "サカモト"), ("原田", "ハラダ"), ("内田", "ウチダ"), ("野口", "ノグチ"),
]  # fmt: skip
GIVEN_F = [
    ("幸子", "サチコ"), ("和子", "カズコ"), ("節子", "セツコ"), ("洋子", "ヨウコ"),
    ("恵子", "ケイコ"), ("京子", "キョウコ"), ("美智子", "ミチコ"), ("久子", "ヒサコ"),
    ("文子", "フミコ"), ("千代子", "チヨコ"), ("正子", "マサコ"), ("静江", "シズエ"),
    ("美咲", "ミサキ"), ("結衣", "ユイ"),
]  # fmt: skip
GIVEN_M = [
    ("茂", "シゲル"), ("清", "キヨシ"), ("勇", "イサム"), ("博", "ヒロシ"), ("実", "ミノル"),
    ("進", "ススム"), ("正男", "マサオ"), ("和夫", "カズオ"), ("昭", "アキラ"),
    ("武", "タケシ"), ("健一", "ケンイチ"), ("誠", "マコト"), ("隆", "タカシ"),
    ("悠斗", "ユウト"),
]  # fmt: skip

# 要配慮事項 with the priority they give (1 = highest).
CARE_NEEDS = [
    ("要介護5", 1), ("要介護4", 1), ("寝たきり", 1), ("人工透析", 1), ("在宅酸素", 1),
    ("要介護3", 2), ("要介護2", 2), ("車いす", 2), ("視覚障害", 2), ("聴覚障害", 2),
    ("要介護1", 3), ("要支援2", 3), ("独居高齢者", 3), ("高齢者のみ世帯", 3),
    ("知的障害", 2), ("精神障害", 3), ("難病", 2),
]  # fmt: skip
SUPPORTER_ROLES = ["長男", "長女", "次男", "民生委員", "自治会長", "近隣住民", "ケアマネジャー"]

# LINE safety replies (安否確認) by the status they mean. Menu: 1 無事, 2 けが, 3 救助.
REPLIES = {
    "無事": ["無事です", "1", "大丈夫です", "家族全員避難所にいます", "ぶじです",
             "自宅の2階にいます。無事です", "無事です。{shelter}に避難しました"],
    "負傷": ["けがをしています", "2", "足をけがしました", "転んで腰を痛めました"],
    "要救助": ["助けて、1階が浸水", "3", "水が入ってきて動けません",
               "救助をお願いします。車いすで2階に上がれません"],
    "不明": ["？", "これは何ですか", "よくわかりません"],
}  # fmt: skip
FOLLOW_UP_TEXTS = [
    "{shelter}に移動しました",
    "水が引きました。無事です",
    "家族が迎えに来ました。大丈夫です",
]

FIELD_TEXTS = {
    FLOOD: ["道路冠水 深さ約30cm 通行不可", "住宅床上浸水 複数戸", "アンダーパス冠水"],
    SLIDE: ["擁壁の一部崩落 土砂が道路に流出", "斜面から湧水あり 要警戒"],
    FIRE: ["建物火災 消防対応中"],
    BUILDING: ["倒木により家屋損壊", "屋根瓦の飛散"],
    ROAD: ["倒木 通行止め", "信号滅灯 交通整理が必要"],
    POWER: ["停電 約200戸"],
    WATER: ["断水 給水車要請"],
    RESCUE: ["要救助者あり 消防に引継ぎ", "孤立世帯 高齢者2名"],
    SHELTER: ["避難所 受付混雑 毛布不足"],
    OTHER: ["被害なし 巡回継続"],
}

# Account names of the posters.
HANDLE_WORDS = ["chofu", "tama", "kokuryo", "someji", "fuda", "jindaiji", "sengawa", "neko",
                "taro", "hanako", "river", "rain", "tokyo", "papa", "mama", "cafe", "run",
                "kei", "yuki", "sora"]  # fmt: skip
NICKNAMES = ["ちょうふ住民", "多摩川ランナー", "国領のパン屋", "猫と暮らす人", "調布ママ",
             "染地っ子", "深大寺そば好き", "仙川在住", "京王線ユーザー", "雨男", "chofu local",
             "そらまめ", "Kei", "ゆきんこ", "布田の八百屋", "FC東京サポ"]  # fmt: skip
