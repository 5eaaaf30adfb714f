"""Settings come from TAGS_* variables; a bad value is one clear line, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_contract() -> None:
    s = Settings.from_env({})
    assert (s.host, s.port, s.workers) == ("127.0.0.1", 8000, 1)
    assert s.mongodb_uri is None and s.mongodb_db == "tags"
    assert s.auth_mode == "dev"
    assert s.graphiql and s.introspection
    assert (s.log_format, s.log_level) == ("text", "info")
    assert s.cors_origins == ()
    assert s.history_days == 365


def test_data_dir_defaults_to_the_project_and_follows_the_variable(tmp_path: Path) -> None:
    assert Settings.from_env({}).data_dir == ROOT / ".data"
    assert Settings.from_env({"TAGS_DATA_DIR": str(tmp_path)}).data_dir == tmp_path
    assert Settings.from_env({"TAGS_WORKERS": "2"}).workers == 2


def test_auth_mode_defaults_to_required_with_a_uri() -> None:
    s = Settings.from_env({"TAGS_MONGODB_URI": "mongodb://127.0.0.1:1"})
    assert s.auth_mode == "required"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TAGS_PORT": "eighty"}, "TAGS_PORT"),
        ({"TAGS_PORT": "70000"}, "TAGS_PORT"),
        ({"TAGS_AUTH_MODE": "open"}, "TAGS_AUTH_MODE"),
        ({"TAGS_HOST": "0.0.0.0"}, "TAGS_AUTH_MODE"),
        ({"TAGS_WORKERS": "0"}, "TAGS_WORKERS"),
        ({"TAGS_GRAPHIQL": "maybe"}, "TAGS_GRAPHIQL"),
        ({"TAGS_LOG_FORMAT": "xml"}, "TAGS_LOG_FORMAT"),
        ({"TAGS_HISTORY_DAYS": "a year"}, "TAGS_HISTORY_DAYS"),
        ({"TAGS_HISTORY_DAYS": "-1"}, "TAGS_HISTORY_DAYS"),
        ({"TAGS_JWT_PUBLIC_KEY": "/no/such/key.pem"}, "TAGS_JWT_PUBLIC_KEY"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert str(caught.value).startswith(variable)


def test_dev_mode_allowed_on_loopback_only() -> None:
    assert Settings.from_env({"TAGS_HOST": "::1"}).auth_mode == "dev"
    required = Settings.from_env({"TAGS_HOST": "0.0.0.0", "TAGS_AUTH_MODE": "required"})
    assert required.auth_mode == "required"


def test_history_days_follow_the_variable_and_zero_keeps_forever() -> None:
    assert Settings.from_env({"TAGS_HISTORY_DAYS": "30"}).history_days == 30
    assert Settings.from_env({"TAGS_HISTORY_DAYS": "0"}).history_days == 0
    assert Settings.from_env({"TAGS_HISTORY_DAYS": " "}).history_days == 365


def test_cors_origins_list() -> None:
    s = Settings.from_env({"TAGS_CORS_ORIGINS": "https://a.example, https://b.example"})
    assert s.cors_origins == ("https://a.example", "https://b.example")


def test_server_refuses_bad_setting_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGS_")}
    env["TAGS_PORT"] = "not-a-port"
    done = subprocess.run(
        [sys.executable, "server.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "TAGS_PORT" in lines[0]
    assert "Traceback" not in done.stderr
