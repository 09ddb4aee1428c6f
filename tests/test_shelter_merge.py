"""The per-field merge of a stale shelter edit (geodata.shelters.merge_edit): the ugly cases."""

from __future__ import annotations

import pandas as pd

from geodata.shelters import merge_edit

BASE = {"status": "開設", "evacuees": 40, "households": 12, "needs": ["water"], "note": "体育館"}
AT = pd.Timestamp("2026-10-12 03:05", tz="UTC")  # 12:05 JST
THEIRS_AT = pd.Timestamp("2026-10-12 03:00", tz="UTC")  # 12:00 JST


def theirs(**changes) -> dict:
    return {**BASE, "reported_by": "suzuki", "reported_at": THEIRS_AT, "version": 2, **changes}


def mine(**changes) -> dict:
    return {**BASE, **changes}


def test_a_field_only_one_side_changed_takes_that_side():
    m = merge_edit(BASE, mine(evacuees=55), theirs(status="満員"), mine_by="sato", mine_at=AT)
    assert m.fields["status"] == "満員" and m.fields["evacuees"] == 55
    assert m.conflicts == () and m.unresolved == ()
    assert m.origin["status"] == "theirs" and m.origin["evacuees"] == "mine"
    assert m.origin["households"] == "same" and m.fields["households"] == 12


def test_both_changed_the_same_field_is_a_conflict_settled_by_the_choice():
    base, mi, th = BASE, mine(evacuees=60, status="満員"), theirs(evacuees=48, status="満員")
    open_ = merge_edit(base, mi, th, mine_by="sato", mine_at=AT)
    assert open_.conflicts == ("evacuees",)  # the same new status is no conflict
    assert open_.unresolved == ("evacuees",)
    assert open_.fields["evacuees"] == 48  # unresolved: the stored value, never overwritten unseen
    picked = merge_edit(base, mi, th, {"evacuees": "mine"}, mine_by="sato", mine_at=AT)
    assert picked.unresolved == () and picked.fields["evacuees"] == 60
    assert picked.origin["evacuees"] == "mine"
    kept = merge_edit(base, mi, th, {"evacuees": "theirs"}, mine_by="sato", mine_at=AT)
    assert kept.fields["evacuees"] == 48 and kept.origin["evacuees"] == "theirs"


def test_counts_compare_as_numbers():
    m = merge_edit(BASE, mine(evacuees=40.0), theirs(evacuees=41), mine_by="sato", mine_at=AT)
    assert m.conflicts == () and m.fields["evacuees"] == 41


def test_a_need_someone_else_added_is_never_dropped():
    # They added food; I removed water (which was in the base) and added blankets.
    m = merge_edit(
        BASE,
        mine(needs=["blankets"]),
        theirs(needs=["water", "food"]),
        mine_by="sato",
        mine_at=AT,
    )
    assert m.fields["needs"] == ["food", "blankets"]
    assert m.origin["needs"] == "merged"


def test_one_removed_a_need_the_other_added():
    # The base had none; they added food and I never saw it (my form has none): food stays.
    base = {**BASE, "needs": []}
    m = merge_edit(base, {**base, "needs": []}, theirs(needs=["food"]), mine_by="sato", mine_at=AT)
    assert m.fields["needs"] == ["food"]
    # They removed water, I added milk: water goes, milk comes.
    m = merge_edit(BASE, mine(needs=["water", "milk"]), theirs(needs=[]), mine_by="s", mine_at=AT)
    assert m.fields["needs"] == ["milk"]


def test_notes_from_both_are_kept_each_with_author_and_time():
    m = merge_edit(
        BASE,
        mine(note="体育館\n毛布が足りない"),
        theirs(note="体育館\n食料を要請"),
        mine_by="sato",
        mine_at=AT,
    )
    assert (
        m.fields["note"]
        == "体育館\n【10/12 12:00 suzuki】食料を要請\n【10/12 12:05 sato】毛布が足りない"
    )
    assert m.origin["note"] == "merged"


def test_notes_rewritten_by_both_keep_both_whole():
    m = merge_edit(BASE, mine(note="A棟"), theirs(note="B棟"), mine_by="sato", mine_at=AT)
    assert m.fields["note"] == "【10/12 12:00 suzuki】B棟\n【10/12 12:05 sato】A棟"


def test_a_note_only_one_side_changed_is_taken_as_it_is():
    m = merge_edit(BASE, mine(), theirs(note="体育館 閉鎖予定"), mine_by="sato", mine_at=AT)
    assert m.fields["note"] == "体育館 閉鎖予定" and m.origin["note"] == "theirs"
    m = merge_edit(BASE, mine(note=""), theirs(), mine_by="sato", mine_at=AT)
    assert m.fields["note"] is None and m.origin["note"] == "mine"


def test_no_base_report_merges_against_nothing():
    m = merge_edit(
        None,
        {"status": "開設", "evacuees": 5, "households": None, "needs": ["water"], "note": "x"},
        theirs(needs=["food"], note="y"),
        mine_by="sato",
        mine_at=AT,
    )
    assert m.fields["needs"] == ["water", "food"]
    assert (
        "【10/12 12:00 suzuki】y" in m.fields["note"]
        and "【10/12 12:05 sato】x" in m.fields["note"]
    )
    assert m.conflicts == ("evacuees",)  # 5 (mine) against 40 (theirs), both new
    assert m.fields["households"] == 12  # I left it empty: theirs


def test_the_form_sends_no_needs_and_the_stored_needs_list_survives():
    # The dashboard's form has no needs (supplies are supply requests): an imported needs list,
    # in the base and in the newer report, is kept; one the newer report added is kept too.
    form = {k: v for k, v in mine(evacuees=44).items() if k != "needs"}
    m = merge_edit(BASE, form, theirs(needs=["water", "milk"]), mine_by="sato", mine_at=AT)
    assert m.fields["needs"] == ["water", "milk"]
    assert m.fields["evacuees"] == 44 and m.conflicts == ()
    # the newer report (an import) cleared the list: the form, which never showed it, does not
    # bring it back
    m = merge_edit(BASE, form, theirs(needs=[]), mine_by="sato", mine_at=AT)
    assert m.fields["needs"] == []
    # a note the form does not send is not edited either: theirs stands
    no_note = {k: v for k, v in form.items() if k != "note"}
    m = merge_edit(BASE, no_note, theirs(note="体育館・2階"), mine_by="sato", mine_at=AT)
    assert m.fields["note"] == "体育館・2階" and m.origin["note"] == "theirs"
