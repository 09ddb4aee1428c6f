"""User management: the accounts, add one (a generated password shown once), change one."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth
from dashboard.admin import actions
from dashboard.admin.common import flash, shown, when
from dashboard.i18n import t
from geodata.access import accounts, roles
from geodata.access.roles import Forbidden
from geodata.schema import now_utc


def _state(user: dict) -> str:
    if user["disabled"]:
        return t("adm.users.disabled")
    locked = user.get("locked_until")
    if locked and pd.Timestamp(locked) > pd.Timestamp(now_utc()):
        return t("adm.users.locked", time=when(locked))
    return t("adm.users.active")


def table(users: list[dict]) -> pd.DataFrame:
    """The accounts as shown: no hash, role labels, JST times, ``—`` for nothing."""
    return pd.DataFrame(
        {
            t("adm.users.username"): [u["username"] for u in users],
            t("adm.users.display_name"): [shown(u["display_name"]) for u in users],
            t("adm.users.role"): [t(f"role.{u['role']}") for u in users],
            t("adm.users.shelters"): [shown(u["shelter_ids"]) for u in users],
            t("adm.users.municipalities"): [shown(u.get("municipalities") or []) for u in users],
            t("adm.users.state"): [_state(u) for u in users],
            t("adm.users.failed"): [u["failed_attempts"] for u in users],
            t("adm.users.updated"): [when(u["updated_at"]) for u in users],
        }
    )


def _do(name: str, what: str, write) -> None:
    """Run one write; keep its outcome for the rerun that refreshes the list."""
    try:
        result = write()
    except Forbidden:
        st.error(t("adm.denied"))
        return
    except (accounts.AccountError, ValueError) as exc:
        st.error(t("adm.failed", error=str(exc)[:200]))
        return
    if isinstance(result, str):  # a new password: shown once
        flash("success", t("adm.users.password_once", name=name), result)
    elif isinstance(result, int) and not isinstance(result, bool):
        flash("success", t("adm.users.signed_out", name=name, n=result))
    else:
        flash("success", t("adm.users.done", name=name, what=what))
    st.rerun()


def _shelter_options(store) -> dict[str, str]:
    frame = store.read("shelters", columns=["shelter_id", "name"])
    return dict(zip(frame["shelter_id"], frame["name"], strict=True)) if len(frame) else {}


def panel(store) -> None:
    """The account list, the add form and the per-account actions (admin / manage_users only)."""
    auth.require("admin", "manage_users")
    users = accounts.list_users(store)
    st.markdown(f"#### {t('adm.users.list')}")
    if users:
        st.dataframe(table(users), hide_index=True, width="stretch")
    else:
        st.info(t("adm.users.none"))
    shelters = _shelter_options(store)

    def shelter_label(sid: str) -> str:
        return f"{shelters.get(sid, sid)}（{sid}）"

    left, right = st.columns(2)
    with left, st.form("adm_add_user", border=True):
        st.markdown(f"**{t('adm.users.add')}**")
        name = st.text_input(t("adm.users.username"), key="adm_new_name")
        display = st.text_input(t("adm.users.display_name"), key="adm_new_display")
        role = st.selectbox(t("adm.users.role"), roles.ROLES, key="adm_new_role",
                            format_func=lambda r: t(f"role.{r}"))  # fmt: skip
        ids = st.multiselect(t("adm.users.shelters"), list(shelters), key="adm_new_shelters",
                             format_func=shelter_label, help=t("adm.users.shelters_hint"),
                             placeholder=t("adm.users.pick_shelters"))  # fmt: skip
        codes = st.text_input(t("adm.users.municipalities"), key="adm_new_municipalities",
                              help=t("adm.users.municipalities_hint"))  # fmt: skip
        if st.form_submit_button(t("adm.users.add_button"), type="primary", key="adm_add"):
            _do(name.strip(), t("adm.users.add"), lambda: actions.add_user(
                store, name, role, display_name=display, shelter_ids=ids,
                municipalities=codes.replace("、", ",").split(","))[1])  # fmt: skip
    with right, st.container(border=True):
        st.markdown(f"**{t('adm.users.manage')}**")
        if not users:
            return
        by_name = {u["username"]: u for u in users}
        who = st.selectbox(t("adm.users.pick"), list(by_name), key="adm_user_pick")
        user = by_name[who]
        with st.form("adm_set_role", border=False):
            new_role = st.selectbox(t("adm.users.role"), roles.ROLES,
                                    index=roles.ROLES.index(user["role"]), key=f"adm_role_{who}",
                                    format_func=lambda r: t(f"role.{r}"))  # fmt: skip
            new_ids = st.multiselect(
                t("adm.users.shelters"),
                sorted(set(shelters) | set(user["shelter_ids"])),
                default=user["shelter_ids"],
                key=f"adm_shelters_{who}",
                format_func=shelter_label,
                help=t("adm.users.shelters_hint"),
                placeholder=t("adm.users.pick_shelters"),
            )
            if st.form_submit_button(t("adm.users.set_role"), key="adm_save_role"):
                ids = new_ids if new_role == "shelter_staff" else []
                _do(who, t("adm.users.set_role"),
                    lambda: actions.set_role(store, who, new_role, ids))  # fmt: skip
        with st.form("adm_set_municipalities", border=False):
            new_codes = st.text_input(
                t("adm.users.municipalities"),
                value=", ".join(user.get("municipalities") or []),
                key=f"adm_municipalities_{who}",
                help=t("adm.users.municipalities_hint"),
            )
            if st.form_submit_button(t("adm.users.set_municipalities"), key="adm_save_towns"):
                _do(who, t("adm.users.set_municipalities"), lambda: actions.set_municipalities(
                    store, who, new_codes.replace("、", ",").split(",")))  # fmt: skip
        top, bottom = st.columns(2), st.columns(2)
        buttons = [*top, *bottom]
        if user["disabled"]:
            if buttons[0].button(t("adm.users.enable"), key="adm_enable", width="stretch"):
                _do(who, t("adm.users.enable"), lambda: actions.enable_user(store, who))
        elif buttons[0].button(t("adm.users.disable"), key="adm_disable", width="stretch"):
            _do(who, t("adm.users.disable"), lambda: actions.disable_user(store, who))
        if buttons[1].button(t("adm.users.unlock"), key="adm_unlock", width="stretch"):
            _do(who, t("adm.users.unlock"), lambda: actions.unlock_user(store, who))
        if buttons[2].button(t("adm.users.reset"), key="adm_reset", width="stretch"):
            _do(who, t("adm.users.reset"), lambda: actions.reset_password(store, who))
        if buttons[3].button(t("adm.users.sign_out"), key="adm_sign_out", width="stretch"):
            _do(who, t("adm.users.sign_out"), lambda: actions.sign_out(store, who))
