"""Copies settled under the lock: ``repost_of`` as the store's posts make it, in any order.

The dedupe of a batch (:class:`ingest.dedupe.CopyHistory`) sees the posts its process knows;
another ingest process may have committed an earlier copy meanwhile, or a source may bring a post
older than ones already stored. Inside the batch's transaction, under the ``incidents`` lock,
:func:`settle_copies` marks again every post from the batch's earliest on — the batch and the
stored posts (locked: ``FOR UPDATE``) — against the stored posts before it, in time order, with
the rules of ingest/dedupe.py: a post copies the first earlier post of its fingerprint (24 h) or
the most similar one (2 h); a post that copies none keeps its own ``repost_of`` (a boost). So
``repost_of`` is a function of the stored posts: two stores with the same posts agree, whichever
process wrote them and in whatever order. The stored posts it changes are written with the
incidents they leave or join (geodata/incident_relink.py).
"""

from __future__ import annotations

import pandas as pd

from geodata.incident_relink import link_columns
from geodata.incidents import post_key, present
from geodata.text.fingerprints import fingerprint, text_digest
from ingest.dedupe import (
    EXACT_WINDOW,
    FIND_MIN,
    HISTORY_COLUMNS,
    SIMILAR_WINDOW,
    CopyHistory,
    CopyIndex,
    _ns,
)

WINDOW_COLUMNS = [*link_columns("posts"), "text"]


def settle_copies(
    store, frame: pd.DataFrame, copies: CopyHistory | None = None
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """``repost_of`` of the valid posts ``frame`` and of the stored posts from its earliest on.

    Call it inside ``store.transaction()`` holding the ``incidents`` lock (``link_and_store``
    calls it so).

    ``copies``: the ingest process's :class:`ingest.dedupe.CopyHistory` of this store. It holds
    the stored posts before the batch already (kept up to date from the store's writes), so
    the two hours before the batch are not read and indexed again for every batch; the settled
    values are put into it. The caller calls ``copies.forget()`` when the transaction fails.
    Without it, an index of the stored posts is built for this batch.

    Returns
    -------
    (``frame`` with ``repost_of`` settled, ``{"posts": stored posts whose repost_of changed}``,
    ``{"posts": the stored posts from the batch's earliest on, as read (locked)}`` — the
    re-linking that follows in the same transaction takes them instead of reading them again)
    """
    if not len(frame):
        return frame, {}, {}
    cut = pd.Timestamp(pd.to_datetime(frame["posted_at"], utc=True).min())
    held_from = cut - SIMILAR_WINDOW
    # what settling and the re-linking that follows read of a stored post (a post written
    # again is read whole then)
    window = store.read("posts", since=cut, columns=WINDOW_COLUMNS, for_update=True)
    texts = [*frame["text"], *window["text"]]
    if copies is not None:
        index = copies.settling_index(cut.as_unit("ns").value, texts)
    else:
        recent = store.read("posts", since=held_from, until=cut, columns=HISTORY_COLUMNS)
        older = store.first_posts(
            {text_digest(t) for t in texts}, since=cut - EXACT_WINDOW, until=held_from,
            columns=HISTORY_COLUMNS,
        )  # fmt: skip
        index = CopyIndex(similar_from=held_from.value)
        index.put_frame(recent)
        index.set_older(older)

    batch_keys = [post_key(p, i) for p, i in zip(frame["platform"], frame["post_id"], strict=True)]
    in_batch = set(batch_keys)
    stored_keys = [
        post_key(p, i) for p, i in zip(window["platform"], window["post_id"], strict=True)
    ]
    entries = [
        (when, key, text, own, 0, i)
        for i, (when, key, text, own) in enumerate(zip(
            _ns(frame["posted_at"]), batch_keys, frame["text"], frame["repost_of"], strict=True))
    ] + [
        (when, key, text, own, 1, i)
        for i, (when, key, text, own) in enumerate(zip(
            _ns(window["posted_at"]), stored_keys, window["text"], window["repost_of"],
            strict=True))
        if key not in in_batch
    ]  # fmt: skip
    entries.sort(key=lambda e: (e[0], e[1]))
    settled = ([None] * len(frame), list(window["repost_of"]))
    for when, key, text, own, origin, i in entries:
        fp = fingerprint(text if isinstance(text, str) else None)
        found = index.find(fp, when, key) if len(fp) >= FIND_MIN else None
        value = found or (own if present(own) else None)
        index.put(key, when, fp, value)
        settled[origin][i] = value
    if copies is not None:
        copies.trim()
    out = frame.copy()
    out["repost_of"] = pd.Series(settled[0], index=out.index, dtype=object)
    changed = [
        i
        for i, (key, old, new) in enumerate(
            zip(stored_keys, window["repost_of"], settled[1], strict=True)
        )  # fmt: skip
        if key not in in_batch and (old if present(old) else None) != new
    ]
    if not changed:
        return out, {}, {"posts": window}
    moved = window.iloc[changed].copy()
    moved["repost_of"] = pd.Series([settled[1][i] for i in changed], index=moved.index,
                                   dtype=object)  # fmt: skip
    return out, {"posts": moved}, {"posts": window}
