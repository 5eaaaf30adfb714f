"""TAGS_RATE_LIMIT (contract 1.1) and TAGS_CREDENTIAL_RECHECK_S: defaults, bounds, dev mode."""

from __future__ import annotations

import pytest

from config.settings import Settings, SettingsError


def test_rate_limit_defaults_to_the_contract_and_applies_in_required_mode_only() -> None:
    required = Settings.from_env({"TAGS_AUTH_MODE": "required"})
    assert required.rate_limit == 1200 and required.rate_limited
    assert not Settings.from_env({}).rate_limited  # dev mode has no rate limit
    assert not Settings.from_env({"TAGS_AUTH_MODE": "dev", "TAGS_RATE_LIMIT": "5"}).rate_limited


def test_rate_limit_zero_turns_it_off() -> None:
    off = Settings.from_env({"TAGS_AUTH_MODE": "required", "TAGS_RATE_LIMIT": "0"})
    assert off.rate_limit == 0 and not off.rate_limited


def test_credential_recheck_defaults_to_thirty_seconds() -> None:
    assert Settings.from_env({}).credential_recheck_s == 30
    assert Settings.from_env({"TAGS_CREDENTIAL_RECHECK_S": "1"}).credential_recheck_s == 1
    assert Settings.from_env({"TAGS_CREDENTIAL_RECHECK_S": "30"}).credential_recheck_s == 30


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TAGS_RATE_LIMIT", "-1"),
        ("TAGS_RATE_LIMIT", "lots"),
        ("TAGS_CREDENTIAL_RECHECK_S", "0"),
        # The documented bound on revocation is 30 s: one more is refused.
        ("TAGS_CREDENTIAL_RECHECK_S", "31"),
    ],
)
def test_bad_values_name_their_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: value})
