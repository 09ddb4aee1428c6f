"""Generated passwords (the demo account's): copyable by a double-click, strong enough."""

from __future__ import annotations

import re

from geodata.access import accounts


def test_generated_passwords_are_one_word_of_unambiguous_letters_and_digits():
    seen = {accounts.new_password() for _ in range(300)}
    assert len(seen) == 300  # random, not a fixed value
    for password in seen:
        assert len(password) == 16
        # a double-click selects a whole word: no "-" or "_" that it would drop at an end
        assert re.fullmatch(r"[A-Za-z0-9]+", password), password
        assert not set(password) & set("0O1lI"), password
        accounts.check_password_strength(password, "demo")


def test_every_character_of_the_alphabet_occurs():
    text = "".join(accounts.new_password() for _ in range(200))
    assert set(text) == set(accounts.PASSWORD_ALPHABET)
