"""Service settings, read from the TAGS_* environment variables of SERVICE.md."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The embedded store's files live in the project root (above this package) unless
# TAGS_DATA_DIR says otherwise.
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / ".data"


class SettingsError(Exception):
    """A bad value; the message names the variable and is shown alone at start-up."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}: expected true or false, got {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: set[str]) -> str:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise SettingsError(f"{name}: expected one of {', '.join(sorted(choices))}, got {raw!r}")
    return value


def embedded_server_of(env: Mapping[str, str]) -> str:
    """TAGS_EMBEDDED_SERVER: `rust` (the default) or `python`."""
    return _choice(env, "TAGS_EMBEDDED_SERVER", "rust", {"rust", "python"})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_public_key(pem: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        raise SettingsError("TAGS_JWT_PUBLIC_KEY: not a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise SettingsError(
            "TAGS_JWT_PUBLIC_KEY: only RSA (RS256) and EC (ES256) keys are accepted"
        )


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    mongodb_uri: str | None = None
    mongodb_db: str = "tags"
    data_dir: Path = DEFAULT_DATA_DIR
    # (1.2) Which SecantusDB server the embedded store runs: "rust" or "python".
    embedded_server: str = "rust"
    auth_mode: str = "dev"
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    graphiql: bool = True
    introspection: bool = True
    log_format: str = "text"
    log_level: str = "info"
    # Not in the contract: `make demo` sets it to start with the demo workspace.
    seed_demo: bool = False
    # Not in the contract: how long a store call may wait for an unreachable store.
    store_timeout_ms: int = 5000
    # (1.1) Requests per minute per principal in `required` mode; 0 turns it off.
    rate_limit: int = 1200
    # (1.2) Days change-history entries are kept (a TTL index); 0 keeps them forever.
    history_days: int = 365
    # Not in the contract: how often an open subscription's API key is looked up
    # again, so a revoked key ends it within this many seconds.
    credential_recheck_s: int = 30

    @property
    def rate_limited(self) -> bool:
        """`dev` mode has no rate limit, and `TAGS_RATE_LIMIT=0` turns it off."""
        return self.auth_mode == "required" and self.rate_limit > 0

    @property
    def embedded(self) -> bool:
        return self.mongodb_uri is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        uri = (env.get("TAGS_MONGODB_URI") or "").strip() or None
        host = (env.get("TAGS_HOST") or "127.0.0.1").strip()
        workers = _int(env, "TAGS_WORKERS", 1, 1, 64)
        data_dir = (env.get("TAGS_DATA_DIR") or "").strip()
        auth_mode = _choice(
            env, "TAGS_AUTH_MODE", "dev" if uri is None else "required", {"dev", "required"}
        )
        if auth_mode == "dev" and not is_loopback(host):
            raise SettingsError(
                f"TAGS_AUTH_MODE: dev mode is refused on the non-loopback address TAGS_HOST={host}"
            )
        public_key = (env.get("TAGS_JWT_PUBLIC_KEY") or "").strip() or None
        if public_key and "-----BEGIN" not in public_key:
            try:
                with open(public_key, encoding="utf-8") as handle:
                    public_key = handle.read()
            except OSError as exc:
                raise SettingsError(
                    f"TAGS_JWT_PUBLIC_KEY: cannot read key file {public_key!r} ({exc.strerror})"
                ) from None
        if public_key:
            _check_public_key(public_key)
        origins = tuple(
            o.strip() for o in (env.get("TAGS_CORS_ORIGINS") or "").split(",") if o.strip()
        )
        return cls(
            host=host,
            port=_int(env, "TAGS_PORT", 8000, 0, 65535),
            workers=workers,
            mongodb_uri=uri,
            mongodb_db=(env.get("TAGS_MONGODB_DB") or "tags").strip(),
            data_dir=Path(data_dir).expanduser() if data_dir else DEFAULT_DATA_DIR,
            embedded_server=embedded_server_of(env),
            auth_mode=auth_mode,
            jwt_secret=env.get("TAGS_JWT_SECRET") or None,
            jwt_public_key=public_key,
            jwt_audience=(env.get("TAGS_JWT_AUDIENCE") or "").strip() or None,
            jwt_issuer=(env.get("TAGS_JWT_ISSUER") or "").strip() or None,
            cors_origins=origins,
            graphiql=_bool(env, "TAGS_GRAPHIQL", True),
            introspection=_bool(env, "TAGS_INTROSPECTION", True),
            log_format=_choice(env, "TAGS_LOG_FORMAT", "text", {"text", "json"}),
            seed_demo=_bool(env, "TAGS_SEED_DEMO", False),
            store_timeout_ms=_int(env, "TAGS_STORE_TIMEOUT_MS", 5000, 100, 120_000),
            rate_limit=_int(env, "TAGS_RATE_LIMIT", 1200, 0, 1_000_000),
            # At most about 270 years: the TTL's seconds stay within a 32-bit int.
            history_days=_int(env, "TAGS_HISTORY_DAYS", 365, 0, 100_000),
            credential_recheck_s=_int(env, "TAGS_CREDENTIAL_RECHECK_S", 30, 1, 30),
            log_level=_choice(
                env, "TAGS_LOG_LEVEL", "info", {"debug", "info", "warning", "error", "critical"}
            ),
        )
