"""The audit key: from EGIDE_AUDIT_KEY (hex or base64), rotated with EGIDE_AUDIT_OLD_KEYS, in
development a random key made once in the data folder (0600); production refuses to run
without a real key or with a replay clock (exit 5); a key is never printed."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egide.cli.main import app
from egide.clock import now
from egide.db.migrate import upgrade
from egide.domain.product import Product
from egide.services import policies, quotes
from egide.services.audit import current_keys, verify_chain
from egide.settings import (
    UnsafeEnvironment,
    audit_keys,
    data_folder,
    get_settings,
    key_id_of,
    parse_key,
)
from tests.conftest import make_uow
from tests.fakes import OPERATOR
from tests.test_policy_audit import execute, policy_with_history

EXIT_ENVIRONMENT = 5


def use_key(monkeypatch: pytest.MonkeyPatch, key: bytes, old: str | None = None) -> str:
    monkeypatch.setenv("EGIDE_AUDIT_KEY", key.hex())
    if old is None:
        monkeypatch.delenv("EGIDE_AUDIT_OLD_KEYS", raising=False)
    else:
        monkeypatch.setenv("EGIDE_AUDIT_OLD_KEYS", old)
    return key_id_of(key)


def test_the_development_key_is_made_once_private_and_reused() -> None:
    path = data_folder() / "audit.key"
    assert not path.exists()
    first = audit_keys()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    again = audit_keys()
    assert path.read_text() == text
    assert again.current_id == first.current_id and again.current == first.current
    assert first.current == bytes.fromhex(text.strip()) and len(first.current) == 32


def test_hex_and_base64_spell_the_same_key_and_its_id_is_not_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = secrets.token_bytes(32)
    assert parse_key(key.hex(), "K") == key
    assert parse_key(base64.b64encode(key).decode(), "K") == key
    assert parse_key(base64.urlsafe_b64encode(key).decode().rstrip("="), "K") == key
    use_key(monkeypatch, key)
    keys = audit_keys()
    assert keys.current_id == key_id_of(key) and key.hex()[:8] not in keys.current_id
    assert key.hex() not in repr(keys) and str(key) not in repr(keys)
    monkeypatch.setenv("EGIDE_AUDIT_KEY_ID", "2027-q1")
    assert audit_keys().current_id == "2027-q1"
    assert not (data_folder() / "audit.key").exists()  # a given key makes no file


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("changeme", "placeholder"),
        ("00" * 16, "key_length"),  # 16 bytes
        ("ab" * 32, "key_entropy"),  # 32 bytes, one value
        ("not a key!", "key_format"),
    ],
)
def test_a_weak_or_malformed_key_is_refused_naming_the_rule_not_the_key(
    value: str, rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_AUDIT_KEY", value)
    with pytest.raises(UnsafeEnvironment) as exc:
        audit_keys()
    assert f"[{rule}]" in str(exc.value) and "EGIDE_AUDIT_KEY" in str(exc.value)
    assert value not in str(exc.value)


def test_a_rotated_key_verifies_old_entries_under_the_old_key_and_new_under_the_new(
    any_url: str, product: Product, frozen_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the key the database was created under (migration 0007 sealed the insurer with it)
    boot = audit_keys()
    boot_old = f"{boot.current_id}:{base64.b64encode(boot.current).decode()}"
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    old_id = use_key(monkeypatch, old, old=boot_old)
    number = policy_with_history(any_url, product)
    old_pair = f"{old_id}:{base64.b64encode(old).decode()}"
    new_id = use_key(monkeypatch, new, old=f"{old_pair},{boot_old}")
    policies.reinstate_policy(make_uow(any_url), OPERATOR, number, "2027-07-01", "dave")
    report = verify_chain(make_uow(any_url))
    assert report.clean, report.problems
    assert set(report.key_ids) == {boot.current_id, old_id, new_id}
    # without the old key, every entry it signed is reported, and the new ones are not
    use_key(monkeypatch, new, old=boot_old)
    unknown = [p for p in verify_chain(make_uow(any_url)).problems if old_id in p.problem]
    assert unknown and all(new_id not in p.problem for p in unknown)
    # the wrong key under the old id: every old entry fails its MAC
    use_key(monkeypatch, new, old=f"{old_id}:{secrets.token_hex(32)},{boot_old}")
    problems = verify_chain(make_uow(any_url)).problems
    assert problems and all("MAC does not match" in p.problem for p in problems)


def test_entries_written_under_another_key_are_reported_after_the_key_changes(
    sqlite_url: str, product: Product, frozen_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_key(monkeypatch, secrets.token_bytes(32))
    policy_with_history(sqlite_url, product)
    use_key(monkeypatch, secrets.token_bytes(32))  # the old key forgotten: nothing verifies
    report = verify_chain(make_uow(sqlite_url))
    assert not report.clean and all("not among the known keys" in str(p) for p in report.problems)


def production(monkeypatch: pytest.MonkeyPatch, key: str | None) -> None:
    monkeypatch.setenv("EGIDE_ENV", "production")
    if key is None:
        monkeypatch.delenv("EGIDE_AUDIT_KEY", raising=False)
    else:
        monkeypatch.setenv("EGIDE_AUDIT_KEY", key)


@pytest.mark.parametrize("key", [None, "", "changeme", "0123456789abcdef"])
def test_production_refuses_to_start_without_a_real_key(
    key: str | None, cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the fixture's database was made in development, whose migration 0007 signed with a key file
    (data_folder() / "audit.key").unlink(missing_ok=True)
    production(monkeypatch, key)
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == EXIT_ENVIRONMENT, result.output
    assert "EGIDE_AUDIT_KEY" in result.output and "Traceback" not in result.output
    assert not (data_folder() / "audit.key").exists()  # production never makes a key file


def test_production_refuses_a_replay_clock(
    cli_env: str, frozen_now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    production(monkeypatch, secrets.token_hex(32))
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == EXIT_ENVIRONMENT
    assert "EGIDE_NOW" in result.output and "production" in result.output
    with pytest.raises(UnsafeEnvironment):
        now()  # the services' clock refuses it too


def test_production_with_a_real_key_runs_and_never_shows_it(
    tmp_path: Path,
    product: Product,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = secrets.token_bytes(32)
    production(monkeypatch, base64.b64encode(key).decode())
    assert get_settings().production
    cli_env = f"sqlite:///{tmp_path / 'production.db'}"  # made under the production key
    monkeypatch.setenv("EGIDE_DATABASE_URL", cli_env)
    upgrade(cli_env)
    uow = make_uow(cli_env)
    q = quotes.save_quote(uow, OPERATOR, _application(), product, "broker")
    runner = CliRunner()
    clean = runner.invoke(app, ["audit", "verify", "--json"])
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["key_ids"] == [key_id_of(key)]
    execute(
        cli_env, "UPDATE quotes SET establishment_name = 'X' WHERE number = :n", n=q.quote_number
    )
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and f"quote {q.quote_number}: differs" in broken.output
    shown = clean.output + broken.output + capsys.readouterr().out
    for spelling in (key.hex(), base64.b64encode(key).decode(), repr(key)):
        assert spelling not in shown
    assert current_keys().current == key


def _application() -> object:
    import yaml

    from tests.conftest import EXAMPLES

    return yaml.safe_load((EXAMPLES / "cabinet-medical.yaml").read_text(encoding="utf-8"))


def test_the_key_file_is_shared_by_processes_that_start_together(tmp_path: Path) -> None:
    """Writers started at once (the crash test's) agree on one development key."""
    import subprocess
    import sys

    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    code = "from egide.settings import audit_keys; print(audit_keys().current_id)"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    ids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(ids) == 1 and all(p.returncode == 0 for p in procs)
    assert [p.name for p in (tmp_path / "egide").iterdir()] == ["audit.key"]
