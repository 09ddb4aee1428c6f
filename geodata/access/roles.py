"""Roles and the permission matrix (role × page × action): the one place that says who may do what.

Five roles, from least to most trusted:

- ``viewer`` — the wall screen of the HQ (本部の大型モニター): sees the situation and the chronology,
  never personal data;
- ``shelter_staff`` — 避難所の職員: sees the situation and updates only the shelters assigned to them;
- ``operator`` — HQ staff: triage of reports, safety follow-up (安否確認のフォローアップ), exports;
  sees personal data;
- ``commander`` — 本部長 and those the HQ delegates to: everything an operator may do, plus
  issuing, updating and lifting evacuation information (避難情報, :mod:`geodata.evacuation`);
- ``admin`` — everything a commander may do, plus sources, accounts, purge and the audit log.

:func:`allowed` answers every question; the dashboard (``dashboard.auth.require``), the exports
and the command line ask it, and nothing else decides. :func:`check` raises :class:`Forbidden`
instead, for the write paths. An unknown role, a disabled user or no user at all may do nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

ROLES = ("viewer", "shelter_staff", "operator", "commander", "admin")
PAGES = ("overview", "safety", "reports", "shelters", "field", "chronology", "export", "admin")
ACTIONS = (
    "view",  # open the page
    "view_personal",  # see names, addresses, phones, post authors, reply texts on the page
    "update_shelter",  # change a shelter's status (target: the shelter_id)
    "triage",  # verify / dismiss / merge / assign reports
    "add_report",  # enter a field survey report (職員の現地調査)
    "follow_up",  # record a follow-up of a resident (phone, visit)
    "export_internal",  # exports with personal data (visit list, internal situation map)
    "export_public",  # exports without personal data
    "manage_users",  # local accounts
    "manage_sources",  # data sources, their health and cursors
    "purge",  # delete personal data after the disaster
    "view_audit",  # read the audit log
    "issue_evacuation",  # issue / update / lift evacuation information (避難情報)
    "arrange_supplies",  # move a shelter's supply request to arranged / delivered (geodata/supplies.py)
    "reopen_supplies",  # move a delivered supply request back (a delivery recorded by mistake)
    "record",  # write the HQ's chronology, change task states, fix a damage report (第N報)
)
# The actions that exist on each page (asking for another one is a programming error).
PAGE_ACTIONS: dict[str, tuple[str, ...]] = {
    "overview": ("view", "view_personal", "issue_evacuation"),
    "safety": ("view", "view_personal", "follow_up"),
    "reports": ("view", "view_personal", "triage"),
    "shelters": ("view", "update_shelter", "arrange_supplies", "reopen_supplies"),
    "field": ("view", "add_report", "triage"),
    "chronology": ("view", "view_personal", "record"),
    "export": ("view", "export_internal", "export_public"),
    "admin": ("view", "manage_users", "manage_sources", "purge", "view_audit"),
}

_OPERATOR: dict[str, frozenset[str]] = {
    "overview": frozenset({"view", "view_personal"}),
    "safety": frozenset({"view", "view_personal", "follow_up"}),
    "reports": frozenset({"view", "view_personal", "triage"}),
    "shelters": frozenset({"view", "update_shelter", "arrange_supplies"}),
    "field": frozenset({"view", "add_report", "triage"}),
    "chronology": frozenset({"view", "view_personal", "record"}),
    "export": frozenset({"view", "export_internal", "export_public"}),
}
# THE MATRIX. role -> page -> allowed actions. A page missing for a role is closed to it.
# update_shelter for shelter_staff is further limited to the user's own shelters (see allowed).
MATRIX: dict[str, dict[str, frozenset[str]]] = {
    "viewer": {
        "overview": frozenset({"view"}),
        "safety": frozenset({"view"}),  # town-level counts only
        "reports": frozenset({"view"}),
        "shelters": frozenset({"view"}),
        "field": frozenset({"view"}),
        "chronology": frozenset({"view"}),  # the masked wall view
    },
    "shelter_staff": {
        "overview": frozenset({"view"}),
        "shelters": frozenset({"view", "update_shelter"}),
    },
    "operator": _OPERATOR,
    "commander": {
        **_OPERATOR,
        "overview": frozenset({"view", "view_personal", "issue_evacuation"}),
    },
    "admin": {
        **_OPERATOR,
        "overview": frozenset({"view", "view_personal", "issue_evacuation"}),
        "shelters": frozenset({"view", "update_shelter", "arrange_supplies", "reopen_supplies"}),
        "admin": frozenset({"view", "manage_users", "manage_sources", "purge", "view_audit"}),
    },
}
# Roles that may update any shelter; shelter_staff may update only their assigned shelters.
_ANY_SHELTER = frozenset({"operator", "commander", "admin"})


class Forbidden(PermissionError):
    """The user's role does not allow the action."""


@dataclass(frozen=True)
class User:
    """Who is using the dashboard or the command line.

    Attributes
    ----------
    username : the login name (local account) or the OIDC identity (e-mail, else ``sub``).
    role : one of :data:`ROLES`.
    display_name : the name to show.
    shelter_ids : the shelters a ``shelter_staff`` user may update.
    municipalities : the municipalities (5-digit codes) whose data the user sees and writes;
        empty: the configured ``BOSAI_MUNICIPALITY`` (see :attr:`scope`).
    disabled : a disabled account may do nothing.
    source : ``"local"`` (accounts table) or ``"oidc"`` (single sign-on).
    """

    username: str
    role: str
    display_name: str = ""
    shelter_ids: frozenset[str] = field(default_factory=frozenset)
    disabled: bool = False
    source: str = "local"
    municipalities: tuple[str, ...] = ()

    @property
    def scope(self) -> tuple[str, ...]:
        """The municipalities the user's reads and writes are limited to (never empty)."""
        from geodata import settings

        return self.municipalities or (settings.municipality(),)

    @property
    def label(self) -> str:
        """The display name, else the username."""
        return self.display_name or self.username


def _check_names(page: str, action: str) -> None:
    if page not in PAGE_ACTIONS:
        raise ValueError(f"unknown page {page!r}; pages are {', '.join(PAGES)}")
    if action not in PAGE_ACTIONS[page]:
        raise ValueError(
            f"unknown action {action!r} on page {page!r}; it has {', '.join(PAGE_ACTIONS[page])}"
        )


def allowed(user: User | None, page: str, action: str = "view", target: str | None = None) -> bool:
    """Whether ``user`` may do ``action`` on ``page`` (to ``target``, for a shelter update).

    Parameters
    ----------
    user : the user; None (not logged in), a disabled user or an unknown role may do nothing.
    page : one of :data:`PAGES`.
    action : one of the page's actions (:data:`PAGE_ACTIONS`).
    target : the shelter_id for ``update_shelter``. A ``shelter_staff`` user may update only
        the shelters assigned to them, so without a target the answer is False for them.

    Raises
    ------
    ValueError : an unknown page or an action the page does not have (a typo in the caller).

    Examples
    --------
    >>> staff = User("sato", "shelter_staff", shelter_ids=frozenset({"S1"}))
    >>> allowed(staff, "shelters", "update_shelter", "S1"), allowed(staff, "shelters", "update_shelter", "S2")
    (True, False)
    >>> allowed(User("wall", "viewer"), "safety", "view_personal")
    False
    """
    _check_names(page, action)
    if user is None or user.disabled or user.role not in MATRIX:
        return False
    if action not in MATRIX[user.role].get(page, frozenset()):
        return False
    if action == "update_shelter" and user.role not in _ANY_SHELTER:
        return target is not None and str(target) in user.shelter_ids
    return True


def check(user: User | None, page: str, action: str = "view", target: str | None = None) -> None:
    """Raise :class:`Forbidden` unless :func:`allowed`; call it right before every write."""
    if not allowed(user, page, action, target):
        who = "not logged in" if user is None else f"{user.username} ({user.role})"
        suffix = f" {target}" if target is not None else ""
        raise Forbidden(f"{who} may not {action}{suffix} on {page}")


def visible_pages(user: User | None) -> list[str]:
    """The pages ``user`` may open, in :data:`PAGES` order (what the navigation lists)."""
    return [p for p in PAGES if allowed(user, p, "view")]


def sees_personal(user_or_role: User | str | None) -> bool:
    """Whether a user (or role) sees personal data anywhere (operator, admin)."""
    role = user_or_role.role if isinstance(user_or_role, User) else user_or_role
    if isinstance(user_or_role, User) and user_or_role.disabled:
        return False
    return any("view_personal" in actions for actions in MATRIX.get(role or "", {}).values())


def shelter_scope(user: User | None, shelter_ids: Iterable[str]) -> list[str]:
    """The shelters among ``shelter_ids`` that ``user`` may update (for the shelters page form)."""
    return [s for s in shelter_ids if allowed(user, "shelters", "update_shelter", s)]


def validate_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else ValueError."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role
