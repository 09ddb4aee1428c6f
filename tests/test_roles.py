"""The permission matrix, cell by cell, against a table written out here.

A change to geodata/access/roles.py's matrix must change EXPECTED below: that is the point.
"""

from __future__ import annotations

import itertools

import pytest

from geodata.access.roles import (
    ACTIONS,
    PAGE_ACTIONS,
    PAGES,
    ROLES,
    Forbidden,
    User,
    allowed,
    check,
    sees_personal,
    shelter_scope,
    visible_pages,
)

Y, N = True, False
# role -> page -> action -> allowed. update_shelter is checked with a target the user is
# assigned to ("own") and one they are not ("other") in SHELTER_EXPECTED.
EXPECTED: dict[str, dict[str, dict[str, bool]]] = {
    "viewer": {
        "overview": {"view": Y, "view_personal": N, "issue_evacuation": N},
        "safety": {"view": Y, "view_personal": N, "follow_up": N},
        "reports": {"view": Y, "view_personal": N, "triage": N},
        "shelters": {"view": Y, "update_shelter": N, "arrange_supplies": N, "reopen_supplies": N},
        "field": {"view": Y, "add_report": N, "triage": N},
        "chronology": {"view": Y, "view_personal": N, "record": N},
        "export": {"view": N, "export_internal": N, "export_public": N},
        "admin": {"view": N, "manage_users": N, "manage_sources": N, "purge": N, "view_audit": N},
    },
    "shelter_staff": {
        "overview": {"view": Y, "view_personal": N, "issue_evacuation": N},
        "safety": {"view": N, "view_personal": N, "follow_up": N},
        "reports": {"view": N, "view_personal": N, "triage": N},
        "shelters": {
            "view": Y,
            "update_shelter": Y,
            "arrange_supplies": N,
            "reopen_supplies": N,
        },  # own shelters only, see below
        "field": {"view": N, "add_report": N, "triage": N},
        "chronology": {"view": N, "view_personal": N, "record": N},
        "export": {"view": N, "export_internal": N, "export_public": N},
        "admin": {"view": N, "manage_users": N, "manage_sources": N, "purge": N, "view_audit": N},
    },
    "operator": {
        "overview": {"view": Y, "view_personal": Y, "issue_evacuation": N},
        "safety": {"view": Y, "view_personal": Y, "follow_up": Y},
        "reports": {"view": Y, "view_personal": Y, "triage": Y},
        "shelters": {"view": Y, "update_shelter": Y, "arrange_supplies": Y, "reopen_supplies": N},
        "field": {"view": Y, "add_report": Y, "triage": Y},
        "chronology": {"view": Y, "view_personal": Y, "record": Y},
        "export": {"view": Y, "export_internal": Y, "export_public": Y},
        "admin": {"view": N, "manage_users": N, "manage_sources": N, "purge": N, "view_audit": N},
    },
    "commander": {
        "overview": {"view": Y, "view_personal": Y, "issue_evacuation": Y},
        "safety": {"view": Y, "view_personal": Y, "follow_up": Y},
        "reports": {"view": Y, "view_personal": Y, "triage": Y},
        "shelters": {"view": Y, "update_shelter": Y, "arrange_supplies": Y, "reopen_supplies": N},
        "field": {"view": Y, "add_report": Y, "triage": Y},
        "chronology": {"view": Y, "view_personal": Y, "record": Y},
        "export": {"view": Y, "export_internal": Y, "export_public": Y},
        "admin": {"view": N, "manage_users": N, "manage_sources": N, "purge": N, "view_audit": N},
    },
    "admin": {
        "overview": {"view": Y, "view_personal": Y, "issue_evacuation": Y},
        "safety": {"view": Y, "view_personal": Y, "follow_up": Y},
        "reports": {"view": Y, "view_personal": Y, "triage": Y},
        "shelters": {"view": Y, "update_shelter": Y, "arrange_supplies": Y, "reopen_supplies": Y},
        "field": {"view": Y, "add_report": Y, "triage": Y},
        "chronology": {"view": Y, "view_personal": Y, "record": Y},
        "export": {"view": Y, "export_internal": Y, "export_public": Y},
        "admin": {"view": Y, "manage_users": Y, "manage_sources": Y, "purge": Y, "view_audit": Y},
    },
}
# role -> (own shelter, other shelter, no target)
SHELTER_EXPECTED = {
    "viewer": (N, N, N),
    "shelter_staff": (Y, N, N),
    "operator": (Y, Y, Y),
    "commander": (Y, Y, Y),
    "admin": (Y, Y, Y),
}
OWN, OTHER = "13208-001", "13208-099"


def _user(role: str, **kw) -> User:
    return User(f"u-{role}", role, shelter_ids=frozenset({OWN}), **kw)


def test_the_expected_table_covers_every_role_page_and_action():
    assert set(EXPECTED) == set(ROLES)
    for role in ROLES:
        assert set(EXPECTED[role]) == set(PAGES), role
        for page in PAGES:
            assert set(EXPECTED[role][page]) == set(PAGE_ACTIONS[page]), (role, page)
    assert {a for acts in PAGE_ACTIONS.values() for a in acts} == set(ACTIONS)


@pytest.mark.parametrize("role", ROLES)
def test_every_cell_of_the_matrix(role):
    user = _user(role)
    for page in PAGES:
        for action in PAGE_ACTIONS[page]:
            target = OWN if action == "update_shelter" else None
            assert allowed(user, page, action, target) is EXPECTED[role][page][action], (
                role,
                page,
                action,
            )


@pytest.mark.parametrize("role", ROLES)
def test_shelter_updates_by_target(role):
    user = _user(role)
    got = tuple(allowed(user, "shelters", "update_shelter", t) for t in (OWN, OTHER, None))
    assert got == SHELTER_EXPECTED[role]
    assert shelter_scope(user, [OWN, OTHER]) == [
        s for s, ok in zip((OWN, OTHER), SHELTER_EXPECTED[role], strict=False) if ok
    ]


def test_nobody_disabled_and_unknown_roles_may_do_nothing():
    for page, action in ((p, a) for p in PAGES for a in PAGE_ACTIONS[p]):
        assert not allowed(None, page, action, OWN)
        assert not allowed(_user("admin", disabled=True), page, action, OWN)
        assert not allowed(User("x", "superuser"), page, action, OWN)


def test_a_typo_in_a_page_or_action_is_an_error_not_a_silent_no():
    with pytest.raises(ValueError, match="unknown page"):
        allowed(_user("admin"), "overveiw", "view")
    with pytest.raises(ValueError, match="unknown action"):
        allowed(_user("admin"), "overview", "purge")  # purge lives on the admin page


def test_check_raises_forbidden_with_who_and_what():
    check(_user("operator"), "reports", "triage")
    with pytest.raises(Forbidden, match=r"u-viewer \(viewer\) may not triage on reports"):
        check(_user("viewer"), "reports", "triage")
    with pytest.raises(Forbidden, match="not logged in"):
        check(None, "overview")
    assert issubclass(Forbidden, PermissionError)


def test_visible_pages_and_personal_data_follow_the_matrix():
    for role in ROLES:
        expected = [p for p in PAGES if EXPECTED[role][p]["view"]]
        assert visible_pages(_user(role)) == expected
        personal = any(cells.get("view_personal", False) for cells in EXPECTED[role].values())
        assert sees_personal(role) is personal
        assert sees_personal(_user(role)) is personal
    assert visible_pages(None) == []
    assert not sees_personal(_user("admin", disabled=True))
    assert not sees_personal("public") and not sees_personal(None)


def test_the_matrix_is_monotonic_from_viewer_to_admin_except_shelter_staff():
    # operator ⊆ admin, viewer ⊆ operator: a promotion never takes a permission away.
    for lower, higher in (("viewer", "operator"), ("operator", "admin")):
        for page, action in itertools.chain.from_iterable(
            ((p, a) for a in PAGE_ACTIONS[p]) for p in PAGES
        ):
            if EXPECTED[lower][page][action]:
                assert EXPECTED[higher][page][action], (lower, higher, page, action)
