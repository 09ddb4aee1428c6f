"""The roster (避難行動要支援者名簿) and the residents' LINE safety replies (安否確認).

The roster is spread over the towns in proportion to population, each home a random point in
the town polygon. The city sends a safety check through LINE at T+3 h and again at T+10 h;
about 65% of the roster answer (some twice), the rest never do: the non-responders.
"""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd

from ingest.drill import texts as tx
from ingest.drill.payloads import ID_EPOCH_MS, ulid
from ingest.drill.world import FLOOD_TOWN_SHARE, World, random_points

RESPONSE_SHARE = 0.65
LINE_SHARE = 0.85  # residents with a LINE user id
TWICE_SHARE = 0.25  # responders who send a second message
UNKNOWN_SENDER_SHARE = 0.03  # events from users not in the roster
BROADCASTS_H = (3.0, 10.0)
ROSTER_CSV_COLUMNS = {
    "resident_id": "整理番号",
    "name": "氏名",
    "kana": "氏名カナ",
    "sex": "性別",
    "birth_date": "生年月日",
    "address": "住所",
    "phone": "電話番号",
    "chat_user_id": "LINEユーザーID",
    "town_code": "町丁目コード",
    "care_needs": "要配慮事項",
    "supporter": "避難支援等関係者",
    "lat": "緯度",
    "lon": "経度",
}
_STATUS_P_FLOOD = np.array([0.70, 0.08, 0.17, 0.05])  # 無事, 負傷, 要救助, 不明
_STATUS_P_OTHER = np.array([0.88, 0.05, 0.02, 0.05])
STATUSES = ("無事", "負傷", "要救助", "不明")


def _hex(rng: np.random.Generator, n: int, chars: int) -> list[str]:
    raw = rng.integers(0, 256, size=(n, chars // 2), dtype=np.uint8)
    return [bytes(r).hex() for r in raw]


def generate_roster(world: World, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Residents who need help to evacuate: one row each, English column names.

    Columns: resident_id, name, kana, sex, birth_date, address, phone, chat_user_id (None for
    those without LINE), town_code, town_name, care_needs, care_priority, supporter, lon, lat.
    """
    towns = world.towns
    pop = towns["population"].to_numpy(float)
    town = np.sort(rng.choice(len(towns), size=n, p=pop / pop.sum()))
    counts = np.bincount(town, minlength=len(towns))
    lon, lat = random_points(list(towns.geometry), counts, rng)
    female = rng.random(n) < 0.6
    sur = rng.integers(len(tx.SURNAMES), size=n)
    giv = rng.integers(14, size=n)
    given = [tx.GIVEN_F[g] if f else tx.GIVEN_M[g] for g, f in zip(giv, female, strict=True)]
    elderly = rng.random(n) < 0.75
    age = np.where(elderly, rng.integers(75, 99, size=n), rng.integers(20, 75, size=n))
    day = rng.integers(0, 365, size=n)
    birth = (
        np.datetime64("2026-01-01")
        - (age * 365.25).astype("timedelta64[D]")
        + day.astype("timedelta64[D]")
    )
    ban, go = rng.integers(1, 41, size=n), rng.integers(1, 31, size=n)
    long_form = rng.random(n) < 0.3
    bases, chomes = towns["base"].to_numpy(), towns["chome"].to_numpy()
    address = []
    for t, b, g, lf in zip(town, ban, go, long_form, strict=True):
        base, chome = bases[t], int(chomes[t])
        if lf:
            where = f"{base}{tx.KANJI_DIGITS[chome]}丁目" if chome else base
            address.append(f"東京都調布市{where}{b}番{g}号")
        else:
            address.append(f"調布市{base}{chome}-{b}-{g}" if chome else f"調布市{base}{b}-{g}")
    phone_kind = rng.random(n)
    digits = rng.integers(0, 10_000, size=(n, 2))
    phone = [
        ""
        if k < 0.05
        else (f"042-4{d[0] % 100:02d}-{d[1]:04d}" if k < 0.75 else f"090-{d[0]:04d}-{d[1]:04d}")
        for k, d in zip(phone_kind, digits, strict=True)
    ]
    has_line = rng.random(n) < LINE_SHARE
    user_ids = ["U" + h for h in _hex(rng, n, 32)]
    needs_a = rng.integers(len(tx.CARE_NEEDS), size=n)
    needs_b = rng.integers(len(tx.CARE_NEEDS), size=n)
    two = rng.random(n) < 0.35
    care, priority = [], []
    for a, b, t in zip(needs_a, needs_b, two, strict=True):
        items = [tx.CARE_NEEDS[a]] + ([tx.CARE_NEEDS[b]] if t and b != a else [])
        care.append(";".join(i[0] for i in items))
        priority.append(min(i[1] for i in items))
    role = rng.integers(len(tx.SUPPORTER_ROLES), size=n)
    sup_sur = rng.integers(len(tx.SURNAMES), size=n)
    has_sup = rng.random(n) < 0.7
    family = {"長男", "長女", "次男"}  # family supporters share the resident's surname
    supporter = [
        f"{tx.SUPPORTER_ROLES[r]} {tx.SURNAMES[k if tx.SUPPORTER_ROLES[r] in family else s][0]}"
        if h
        else ""
        for r, s, k, h in zip(role, sup_sur, sur, has_sup, strict=True)
    ]
    ids = rng.choice(9_000_000, size=n, replace=False) + 1_000_000
    return pd.DataFrame(
        {
            "resident_id": [f"{i:07d}" for i in ids],
            "name": [f"{tx.SURNAMES[s][0]}\u3000{g[0]}" for s, g in zip(sur, given, strict=True)],
            "kana": [f"{tx.SURNAMES[s][1]}\u3000{g[1]}" for s, g in zip(sur, given, strict=True)],
            "sex": np.where(female, "女", "男"),
            "birth_date": pd.to_datetime(birth).strftime("%Y/%m/%d"),
            "address": address,
            "phone": phone,
            "chat_user_id": [u if h else None for u, h in zip(user_ids, has_line, strict=True)],
            "town_code": towns["town_code"].to_numpy()[town],
            "town_name": towns["name"].to_numpy()[town],
            "care_needs": care,
            "care_priority": priority,
            "supporter": supporter,
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
        }
    )


def roster_csv(roster: pd.DataFrame) -> pd.DataFrame:
    """The roster as the municipality's system exports it: Japanese headers, text cells."""
    out = roster[list(ROSTER_CSV_COLUMNS)].rename(columns=ROSTER_CSV_COLUMNS).copy()
    out["LINEユーザーID"] = out["LINEユーザーID"].fillna("")
    return out


def generate_replies(world: World, roster: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """LINE message events of the safety check, one row per event, sorted by time.

    Columns: offset_s, user_id, resident_id (None for senders not in the roster), kind (text,
    location, sticker), text, status (truth: 無事 / 負傷 / 要救助 / 不明), lon, lat.
    """
    n = len(roster)
    line_users = np.flatnonzero(roster["chat_user_id"].notna().to_numpy())
    k = min(len(line_users), int(round(RESPONSE_SHARE * n)))
    responders = np.sort(rng.choice(line_users, size=k, replace=False))
    second_wave = rng.random(k) < 0.3
    start = np.where(second_wave, BROADCASTS_H[1], BROADCASTS_H[0])
    hours = np.minimum(start + 0.03 + rng.exponential(1.5, size=k), 23.9)
    flood_towns = set(world.towns["town_code"][world.towns["flood_share"] >= FLOOD_TOWN_SHARE])
    in_flood = roster["town_code"].to_numpy()[responders]
    in_flood = np.array([c in flood_towns for c in in_flood]) & (hours >= 9) & (hours < 16)
    u = rng.random(k)
    status = np.where(
        in_flood,
        np.searchsorted(np.cumsum(_STATUS_P_FLOOD), u, side="right"),
        np.searchsorted(np.cumsum(_STATUS_P_OTHER), u, side="right"),
    ).clip(0, 3)
    shelters = world.shelters[~world.shelters["welfare"]]
    lon = roster["lon"].to_numpy()[responders]
    lat = roster["lat"].to_numpy()[responders]
    dist = (shelters["lon"].to_numpy()[None, :] - lon[:, None]) ** 2 + (
        shelters["lat"].to_numpy()[None, :] - lat[:, None]
    ) ** 2
    nearest = shelters["name"].to_numpy()[dist.argmin(axis=1)] if k else np.array([])
    pick = rng.random(k)
    events = []
    for j, r in enumerate(responders):
        st = STATUSES[status[j]]
        user = roster["chat_user_id"].iat[r]
        rid = roster["resident_id"].iat[r]
        if st == "不明" and pick[j] < 0.5:
            events.append((hours[j], user, rid, "sticker", "", st, np.nan, np.nan))
        else:
            texts = tx.REPLIES[st]
            text = texts[int(pick[j] * len(texts)) % len(texts)].format(shelter=nearest[j])
            events.append((hours[j], user, rid, "text", text, st, np.nan, np.nan))
    twice = np.flatnonzero(rng.random(k) < TWICE_SHARE)
    jitter = rng.normal(0, 0.0004, size=(len(twice), 2))
    later = rng.uniform(1.0, 6.0, size=len(twice))
    for m, j in enumerate(twice):
        r, st = responders[j], STATUSES[status[j]]
        user, rid = roster["chat_user_id"].iat[r], roster["resident_id"].iat[r]
        if st in ("負傷", "要救助", "不明"):
            h = min(hours[j] + 0.02 + 0.05 * later[m] / 6, 23.95)
            events.append(
                (h, user, rid, "location", "", st, lon[j] + jitter[m, 0], lat[j] + jitter[m, 1])
            )
        else:
            h = min(hours[j] + later[m], 23.95)
            text = tx.FOLLOW_UP_TEXTS[m % len(tx.FOLLOW_UP_TEXTS)].format(shelter=nearest[j])
            events.append((h, user, rid, "text", text, "無事", np.nan, np.nan))
    extra = int(round(UNKNOWN_SENDER_SHARE * max(k, 1)))
    for j, user in enumerate("U" + h for h in _hex(rng, extra, 32)):
        events.append(
            (
                float(rng.uniform(3.1, 23.9)),
                user,
                None,
                "text",
                tx.REPLIES["無事"][j % 3],
                "無事",
                np.nan,
                np.nan,
            )
        )
    frame = pd.DataFrame(
        events, columns=["hours", "user_id", "resident_id", "kind", "text", "status", "lon", "lat"]
    )
    frame["offset_s"] = np.round(frame.pop("hours").to_numpy() * 3600, 3)
    return frame.sort_values(["offset_s", "user_id"], kind="stable").reset_index(drop=True)


def line_bodies(
    replies: pd.DataFrame, roster: pd.DataFrame, seed: int, t0: pd.Timestamp, rng
) -> list[dict]:
    """LINE Messaging API webhook request bodies: events within 30 s share one body (max 5)."""
    if not len(replies):
        return []
    destination = "U" + _hex(np.random.default_rng([seed, 99]), 1, 32)[0]
    t0_ms = int(t0.tz_convert("UTC").value // 1_000_000)
    offsets_ms = np.round(replies["offset_s"].to_numpy() * 1000).astype(np.int64)
    tokens = _hex(rng, len(replies), 32)
    quotes = rng.integers(0, 256, size=(len(replies), 48), dtype=np.uint8)
    rand = rng.integers(0, 256, size=(len(replies), 10), dtype=np.uint8)
    town_names = dict(zip(roster["resident_id"], roster["town_name"], strict=True))
    bodies: list[dict] = []
    bucket = None
    for i, row in enumerate(replies.itertuples()):
        mid = str(
            500_000_000_000_000_000
            + (seed % 10_000) * 10**13
            + int(offsets_ms[i]) * 1000
            + i % 1000
        )
        message: dict = {"id": mid, "type": row.kind}
        if row.kind == "text":
            message["quoteToken"] = _b64(quotes[i])
            message["text"] = row.text
        elif row.kind == "sticker":
            message.update(quoteToken=_b64(quotes[i]), stickerId="52002734", packageId="11537",
                           stickerResourceType="STATIC", keywords=["OK", "Thanks"])  # fmt: skip
        else:
            town = town_names.get(row.resident_id, "")
            message.update(title="位置情報", address=f"日本、〒182-0000 東京都調布市{town}",
                           latitude=round(float(row.lat), 6), longitude=round(float(row.lon), 6))  # fmt: skip
        event = {
            "type": "message",
            "message": message,
            "webhookEventId": ulid(ID_EPOCH_MS + int(offsets_ms[i]), bytes(rand[i])),
            "deliveryContext": {"isRedelivery": False},
            "timestamp": t0_ms + int(offsets_ms[i]),
            "source": {"type": "user", "userId": row.user_id},
            "replyToken": tokens[i],
            "mode": "active",
        }
        key = offsets_ms[i] // 30_000
        if bucket == key and len(bodies[-1]["events"]) < 5:
            bodies[-1]["events"].append(event)
        else:
            bodies.append({"destination": destination, "events": [event]})
            bucket = key
    return bodies


def _b64(raw: np.ndarray) -> str:
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
