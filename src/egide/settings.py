"""Settings from the environment (prefix ``EGIDE_``), in one class.

`Settings` reads the environment as pydantic-settings did for it before (names case-insensitive,
``EGIDE_ENV`` or ``EGIDE_ENVIRONMENT`` for the environment, secrets hidden in their repr), but with
the standard library only: every command reads its settings first, and importing pydantic and
building a settings model cost a CLI command about 120 ms, more than a third of what loading
SQLAlchemy, Typer and PyYAML costs (issue 10, part 9). Six plain strings need no validation
framework; the HTTP edge keeps pydantic for what it validates.

The audit key (`audit_keys`): ``EGIDE_AUDIT_KEY`` (hex or base64, at least 32 bytes) signs new
audit entries, under the identifier ``EGIDE_AUDIT_KEY_ID`` or, by default, one derived from the
key's own HMAC fingerprint (never the key); ``EGIDE_AUDIT_OLD_KEYS`` (``id:key`` pairs separated
by commas or spaces) verifies entries signed before a rotation. In development, without
``EGIDE_AUDIT_KEY``, a random key is created once at ``$XDG_DATA_HOME/egide/audit.key`` (folder
0700, file 0600) and reused. ``EGIDE_ENV=production`` refuses to run without a real key (a
placeholder, a short or a low-entropy key is refused everywhere) and refuses ``EGIDE_NOW`` (a
replay clock is for tests and demos): `UnsafeEnvironment`, an environment error (exit 5 at the
CLI). A key is never printed, logged or shown in an error message.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MIN_KEY_BYTES = 32
KEY_FILE_NAME = "audit.key"
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")
_PLACEHOLDERS = ("changeme", "change-me", "change_me", "placeholder", "secret", "example")


class UnsafeEnvironment(EnvironmentError):  # an environment error: exit 5 at the CLI
    """The environment is unfit to run in: a missing or weak audit key, a replay clock in
    production. The message names the variable and the rule, never a key."""


def data_folder() -> Path:
    """The user's data folder: ``$XDG_DATA_HOME/egide`` (by default ``~/.local/share/egide``)."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "egide"


def default_database_url() -> str:
    """SQLite file in the user's data folder: ``$XDG_DATA_HOME/egide/egide.db`` (by default
    ``~/.local/share/egide/egide.db``)."""
    return f"sqlite:///{data_folder() / 'egide.db'}"


ENV_PREFIX = "EGIDE_"


class SecretStr:
    """A secret read from the environment: its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')" if self._value else "SecretStr('')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """What the environment says; `from_environ` reads it (the variables are named
    ``EGIDE_`` + the field's name in capitals, in any case)."""

    database_url: str = ""
    now: str | None = None  # ISO 8601 with offset; overrides the clock (tests, replays)
    product_file: str | None = None  # a product TOML; None: the packaged default
    environment: str = "development"  # EGIDE_ENV, or EGIDE_ENVIRONMENT
    audit_key: SecretStr | None = None
    audit_key_id: str | None = None
    audit_old_keys: SecretStr | None = None
    # the server key webhook signing secrets are derived from (`server_key`)
    secret_key: SecretStr | None = None
    # a Dask scheduler for portfolio jobs (tcp://host:8786); None: an in-process local cluster
    dask_scheduler: str | None = None

    # required | optional: a second factor for the insurer's staff (`egide.services.mfa`);
    # empty: required in production only
    staff_mfa: str = ""

    # ---- the HTTP API (`egide serve`, `egide.api`)
    token_lifetime: int = 3600  # seconds a bearer token lives, 60 to 86 400
    # Redis (``redis://[:password@]host:6379/0``): rate-limit counts shared by every worker
    # process; without it each process counts in memory on its own.
    redis_url: SecretStr | None = None
    # Origins a browser may call the API from, comma-separated; empty (the default): none.
    cors_origins: str = ""
    # Failed token requests allowed per client id and per address (the `limits` library's
    # notation: "10/minute", "100 per hour"), then 429 with Retry-After.
    token_rate_per_client: str = "10/minute"
    token_rate_per_address: str = "30/minute"
    # Addresses of the reverse proxies whose X-Forwarded-For is believed, comma-separated;
    # empty (the default): the address of the TCP peer is the client's, whatever a header says.
    trusted_proxies: str = ""

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", default_database_url())
        for name in ("audit_key", "audit_old_keys", "redis_url", "secret_key"):  # text: a secret
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, SecretStr(value))
        if not 60 <= self.token_lifetime <= 86_400:
            raise UnsafeEnvironment(
                "EGIDE_TOKEN_LIFETIME must be whole seconds from 60 to 86400 [range]"
            )

    @classmethod
    def with_environ(cls, **overrides: object) -> Settings:
        """The environment's settings with some fields given (what tests and callers that
        build an application for one database use)."""
        return dataclasses.replace(cls.from_environ(), **overrides)  # type: ignore[arg-type]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        # names are case-insensitive; of two spellings of one name, the later one counts
        env = {k.lower(): v for k, v in (os.environ if environ is None else environ).items()}

        def get(name: str) -> str | None:
            return env.get((ENV_PREFIX + name).lower())

        def secret(name: str) -> SecretStr | None:
            value = get(name)
            return None if value is None else SecretStr(value)

        environment = get("ENV")
        if environment is None:
            environment = get("ENVIRONMENT")
        return cls(
            database_url=get("DATABASE_URL") or "",
            now=get("NOW"),
            product_file=get("PRODUCT_FILE"),
            environment="development" if environment is None else environment,
            audit_key=secret("AUDIT_KEY"),
            audit_key_id=get("AUDIT_KEY_ID"),
            audit_old_keys=secret("AUDIT_OLD_KEYS"),
            secret_key=secret("SECRET_KEY"),
            dask_scheduler=get("DASK_SCHEDULER") or None,
            staff_mfa=get("STAFF_MFA") or "",
            token_lifetime=_whole(get("TOKEN_LIFETIME"), 3600, "EGIDE_TOKEN_LIFETIME"),
            redis_url=secret("REDIS_URL"),
            cors_origins=get("CORS_ORIGINS") or "",
            token_rate_per_client=get("TOKEN_RATE_PER_CLIENT") or "10/minute",
            token_rate_per_address=get("TOKEN_RATE_PER_ADDRESS") or "30/minute",
            trusted_proxies=get("TRUSTED_PROXIES") or "",
        )

    @property
    def production(self) -> bool:
        return self.environment.strip().lower() in ("production", "prod")

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in re.split(r"[\s,]+", self.cors_origins) if o.strip()]

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [o.strip() for o in re.split(r"[\s,]+", self.trusted_proxies) if o.strip()]


def _whole(text: str | None, default: int, variable: str) -> int:
    """A whole number from the environment (None: the default)."""
    if text is None or not text.strip():
        return default
    value = text.strip()
    if not (value.isascii() and value.isdigit() and len(value) < 10):
        raise UnsafeEnvironment(f"{variable} must be a whole number [integer]")
    return int(value)


def get_settings() -> Settings:
    return Settings.from_environ()


def is_production() -> bool:
    return get_settings().production


# --------------------------------------------------------------------------- the audit key


@dataclass(frozen=True)
class AuditKeys:
    """The key that signs new entries (`current_id`) and every key that verifies, by id."""

    current_id: str
    keys: dict[str, bytes] = field(repr=False)

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    def __repr__(self) -> str:  # never the keys
        return f"AuditKeys(current_id={self.current_id!r}, ids={sorted(self.keys)!r})"


def key_id_of(key: bytes) -> str:
    """The identifier derived from a key: its HMAC fingerprint, which reveals nothing of it."""
    return "k-" + hmac.new(key, b"egide audit key id", hashlib.sha256).hexdigest()[:16]


def parse_key(text: str, variable: str) -> bytes:
    """A key given as hex or base64 (standard or URL-safe), at least 32 bytes of real entropy."""
    value = text.strip()
    if any(word in value.lower() for word in _PLACEHOLDERS):
        raise UnsafeEnvironment(f"{variable} is a placeholder, not a key [placeholder]")
    key: bytes | None = None
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", value):
        key = bytes.fromhex(value)
    else:
        padded = value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4)
        try:  # standard or URL-safe alphabet, padding optional, nothing else
            key = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            key = None
    if key is None:
        raise UnsafeEnvironment(f"{variable} is neither hex nor base64 [key_format]")
    if len(key) < MIN_KEY_BYTES:
        raise UnsafeEnvironment(
            f"{variable} must hold at least {MIN_KEY_BYTES} bytes, it holds {len(key)} "
            "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`) [key_length]"
        )
    if len(set(key)) < 16:  # a random 32-byte key has about 28 distinct bytes
        raise UnsafeEnvironment(f"{variable} is not random enough (repeated bytes) [key_entropy]")
    return key


def _checked_id(value: str, variable: str) -> str:
    if not _KEY_ID.fullmatch(value):
        raise UnsafeEnvironment(
            f"{variable}: a key id is 1 to 40 letters, digits, '.', '_' or '-' [key_id]"
        )
    return value


def _old_keys(text: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        key_id, sep, value = item.partition(":")
        if not sep:
            raise UnsafeEnvironment("EGIDE_AUDIT_OLD_KEYS: each item is id:key [old_key_format]")
        keys[_checked_id(key_id, "EGIDE_AUDIT_OLD_KEYS")] = parse_key(
            value, f"EGIDE_AUDIT_OLD_KEYS ({key_id})"
        )
    return keys


def _dev_key_file(path: Path) -> bytes:
    """The development key at `path`, created once (random, 0600 in a 0700 folder): written to
    a private temporary file then linked into place, so concurrent first uses agree on one key
    and no reader ever sees half a key."""
    if not path.exists():
        missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                continue
            os.chmod(folder, 0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (secrets.token_hex(MIN_KEY_BYTES) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # fails if another process linked its key first: theirs wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return parse_key(path.read_text(encoding="ascii"), str(path))


def check_environment(settings: Settings | None = None) -> None:
    """Refuse what production must not run with: no real EGIDE_AUDIT_KEY, or EGIDE_NOW set."""
    settings = settings or get_settings()
    if not settings.production:
        return
    if settings.now or os.environ.get("EGIDE_NOW"):
        raise UnsafeEnvironment(
            "EGIDE_NOW is set but EGIDE_ENV=production: a replay clock is for tests and demos, "
            "unset it [replay_clock_in_production]"
        )
    if settings.audit_key is None or not settings.audit_key.get_secret_value().strip():
        raise UnsafeEnvironment(
            "EGIDE_ENV=production needs EGIDE_AUDIT_KEY (hex or base64, at least "
            f"{MIN_KEY_BYTES} random bytes) to sign the audit trail [audit_key_required]"
        )
    audit_keys(settings)  # a placeholder, short or malformed key is refused here
    for variable, url in (
        ("EGIDE_DATABASE_URL", settings.database_url),
        ("EGIDE_REDIS_URL", settings.redis_url.get_secret_value() if settings.redis_url else ""),
    ):
        if _placeholder_password(url):
            raise UnsafeEnvironment(
                f"{variable} holds a placeholder password: set a real one [placeholder]"
            )
    if "*" in settings.cors_origin_list:
        raise UnsafeEnvironment(
            "EGIDE_CORS_ORIGINS=* opens the API to every web site: name the origins "
            "[cors_wildcard_in_production]"
        )


def _placeholder_password(url: str) -> bool:
    """A URL whose password is a placeholder (``postgresql://egide:changeme@db/egide``)."""
    if "://" not in url:
        return False
    credentials = url.partition("://")[2].rpartition("@")[0]
    password = credentials.partition(":")[2].lower()
    return any(word in password for word in _PLACEHOLDERS) or password in ("password", "pass")


def audit_keys(settings: Settings | None = None) -> AuditKeys:
    """The keys of the audit trail (see the module doc); UnsafeEnvironment when unfit."""
    settings = settings or get_settings()
    old = _old_keys(settings.audit_old_keys.get_secret_value()) if settings.audit_old_keys else {}
    given = settings.audit_key.get_secret_value().strip() if settings.audit_key else ""
    if given:
        key = parse_key(given, "EGIDE_AUDIT_KEY")
    elif settings.production:
        check_environment(settings)
        raise AssertionError("unreachable: check_environment refuses a missing key")
    else:
        key = _dev_key_file(data_folder() / KEY_FILE_NAME)
    key_id = (
        _checked_id(settings.audit_key_id, "EGIDE_AUDIT_KEY_ID")
        if settings.audit_key_id
        else key_id_of(key)
    )
    if key_id in old and not hmac.compare_digest(old[key_id], key):
        raise UnsafeEnvironment(
            f"EGIDE_AUDIT_OLD_KEYS holds another key under the current id {key_id} [key_id_reused]"
        )
    return AuditKeys(key_id, {**old, key_id: key})


# --------------------------------------------------------------------------- the server key

SERVER_KEY_FILE_NAME = "secret.key"


def server_key(settings: Settings | None = None) -> bytes:
    """The server key (``EGIDE_SECRET_KEY``, hex or base64, at least 32 random bytes) from which
    each webhook endpoint's signing secret is derived with the endpoint's random salt
    (`egide.services.webhooks.signing_secret`): the database holds only the salt, so a dump of it
    alone yields no secret. In development, without it, a random key is created once at
    ``$XDG_DATA_HOME/egide/secret.key`` (0600), as the audit key is; in production its absence
    is an `UnsafeEnvironment`, which the worker and the server meet when they start (they call
    this first). Changing the key changes every endpoint's secret."""
    settings = settings or get_settings()
    given = settings.secret_key.get_secret_value().strip() if settings.secret_key else ""
    if given:
        return parse_key(given, "EGIDE_SECRET_KEY")
    if settings.production:
        raise UnsafeEnvironment(
            "EGIDE_ENV=production needs EGIDE_SECRET_KEY (hex or base64, at least "
            f"{MIN_KEY_BYTES} random bytes): webhook signing secrets are derived from it "
            "[secret_key_required]"
        )
    return _dev_key_file(data_folder() / SERVER_KEY_FILE_NAME)
