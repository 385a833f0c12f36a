"""The README as a test: its walk-through runs as written, and its links lead somewhere.

The walk-through is every ```bash block after the first screen (the first `---` rule). They run
in order, in ONE bash process (`bash -euo pipefail`, so variables and exports carry over from one
block to the next as they do for a reader typing them in one shell), in a temporary folder laid
out like a clone (examples/ and src/ linked in, `.venv` linked to the running virtualenv), on a
fresh SQLite database. ``-x`` traces each command, so a failure names the command and its stderr.

The first screen's two blocks are not run here: they create a virtualenv and pip-install the
project, which needs the network or a package index and a minute; .ci/run runs exactly that
command (`python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/pytest`),
and `test_the_first_screen_is_the_install_and_the_test_command` holds the README to it.

A ```console or ```text block is for reading only (a Dask scheduler at tcp://scheduler:8786).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from egide.cli.main import app
from tests.conftest import REPO

README = REPO / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
# people read "24 570,00 €"; the CLI writes it with narrow no-break spaces
SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


def _screens() -> tuple[str, str]:
    first, rule, walk = README.read_text(encoding="utf-8").partition("\n---\n")
    assert rule, "README.md: the first screen ends with a `---` rule"
    return first, walk


def _bash_blocks(text: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == "bash"]


def test_the_first_screen_is_the_install_and_the_test_command() -> None:
    first, walk = _screens()
    blocks = _bash_blocks(first)
    assert len(blocks) == 1
    assert ".venv/bin/pip install -e . && .venv/bin/egide demo" in blocks[0]
    assert ".venv/bin/pip install -e '.[dev]' && .venv/bin/pytest" in blocks[0]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/pytest" in ci
    # the walk-through installs nothing: it runs in the environment the first screen made
    assert not any("pip install" in b for b in _bash_blocks(walk))


def test_the_first_command_starts_the_web_application_with_its_demo_accounts(
    tmp_path: Path,
) -> None:
    """`egide demo`, as the first screen runs it, in the background until `/` answers: the
    home page, then a login with a printed demo account."""
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _walkthrough_env(tmp_path, Path(sys.prefix))
    egide = str(Path(sys.prefix) / "bin" / "egide")
    seeded = subprocess.run(
        [egide, "demo", "--seed-only", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    account = json.loads(seeded.stdout)[0]
    server = subprocess.Popen(
        [egide, "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                home = httpx.get(base + "/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "egide demo did not answer within 60 s"
                time.sleep(0.3)
        assert home.status_code == 200 and '<html lang="fr">' in home.text
        with httpx.Client(base_url=base) as browser:
            page = browser.get("/connexion").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert token
            login = browser.post(
                "/connexion",
                data={
                    "email": account["email"],
                    "password": account["password"],
                    "csrf_token": token.group(1),
                },
            )
            assert login.status_code == 303 and login.headers["location"] == "/espace"
            assert account["email"] in browser.get("/espace").text
    finally:
        server.terminate()
        server.wait(timeout=20)


def _walkthrough_env(tmp: Path, venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EGIDE_", "VIRTUAL_ENV"))}
    (tmp / "db").mkdir()
    (tmp / "xdg").mkdir()
    env.update(
        EGIDE_DATABASE_URL=f"sqlite:///{tmp / 'db' / 'egide.db'}",
        XDG_DATA_HOME=str(tmp / "xdg"),
        PATH=str(venv / "bin") + os.pathsep + env.get("PATH", ""),
    )
    return env


def _failure(proc: subprocess.CompletedProcess[str]) -> str:
    """The command that failed (the last one bash traced) and what it printed."""
    traced = [line for line in proc.stderr.splitlines() if line.startswith("+")]
    last = traced[-1] if traced else "(no command traced)"
    err = "\n".join(proc.stderr.splitlines()[-40:])
    out = "\n".join(proc.stdout.splitlines()[-20:])
    return (
        f"the README's walk-through failed (exit {proc.returncode}) at:\n  {last}\n"
        f"--- stderr (end) ---\n{err}\n--- stdout (end) ---\n{out}"
    )


@pytest.mark.slow
def test_the_walkthrough_runs_as_written_on_a_fresh_database(tmp_path: Path) -> None:
    blocks = _bash_blocks(_screens()[1])
    assert len(blocks) >= 4  # quote, policy, claim, portfolio
    venv = Path(sys.prefix)
    assert (venv / "bin" / "activate").is_file(), f"the tests run in a virtualenv, not {venv}"
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("examples", "src"):
        (clone / name).symlink_to(REPO / name, target_is_directory=True)
    (clone / ".venv").symlink_to(venv, target_is_directory=True)
    script = tmp_path / "walkthrough.sh"
    script.write_text("\n".join(blocks), encoding="utf-8")

    proc = subprocess.run(
        ["bash", "-x", "-euo", "pipefail", str(script)],
        cwd=clone,
        env=_walkthrough_env(tmp_path, venv),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, _failure(proc)
    out = proc.stdout.translate(SPACES)

    # the referred clinic was approved (approve refuses, exit 3, a quote that was not referred)
    assert re.search(r"^Quote DEV-\d{8}-\w+ approved\.$", out, re.MULTILINE), _failure(proc)
    # the renewal was re-underwritten and recorded from the end of the first term
    assert re.search(r"Policy POL-\S+ renewed from 2028-01-10 \(transaction #5\)", out), out
    assert "ok audit chain clean: 1 policies, 5 transactions" in out
    # the product sheet's case pays 24 570,00 € in one payment
    assert "paid 24 570,00 € now, 24 570,00 € in all; reserve 0,00 €" in out
    # documents: the proposition of each quote, the CP of both terms, 3 avenants, an attestation
    docs = sorted(p.name for p in (clone / "documents").iterdir())
    for part in ("proposition-DEV-", "conditions-particulieres-T1", "conditions-particulieres-T2"):
        assert any(part in name for name in docs), docs
    assert sum("avenant" in name for name in docs) == 3, docs
    assert any(name.endswith("attestation.pdf") for name in docs), docs
    for path in [*(clone / "documents").iterdir(), clone / "decompte.pdf"]:
        assert path.read_bytes()[:5] == b"%PDF-", path
    # --from-db simulated the one bound policy, and `portfolio show` printed that run
    run = json.loads((clone / "run.json").read_text(encoding="utf-8"))
    assert (run["policies"], run["years"], run["seed"]) == (1, 10000, 1)
    assert run["run_id"] in out.split("run.json", 1)[-1]
    assert (clone / "ep" / "ep_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any((clone / "ord").glob("*ept.csv"))
    assert (clone / "book.parquet").is_file()


# Inline links and images `[text](target)`, reference definitions `[id]: target`, and a bare
# `[path/like.md]` (what the README once had: it renders as text, not as a link).
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
BARE = re.compile(r"\[([^\]\s]*[/.][^\]\s]*\.\w+)\](?![(:])")


def test_every_relative_link_in_the_readme_is_a_file_of_the_repository() -> None:
    text = FENCE.sub("", README.read_text(encoding="utf-8"))  # code blocks hold no links
    targets = [a or b for a, b in LINK.findall(text)] + BARE.findall(text)
    relative = [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]
    assert len(relative) >= 10  # docs/*.md and the two images
    root = REPO.resolve()
    for target in relative:
        path = (REPO / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(root), f"README.md links outside the repository: {target}"
        assert path.is_file(), f"README.md links to a missing file: {target}"


# ---------------------------------------------------------------- -q, which the walk-through uses

runner = CliRunner()


def _quiet(*args: str) -> str:
    result = runner.invoke(app, [*args, "-q"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout  # only the number: nothing else on stdout
    return lines[0]


def test_quiet_prints_only_the_new_number_and_it_names_what_was_stored(
    any_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EGIDE_DATABASE_URL", any_url)
    monkeypatch.setenv("EGIDE_NOW", "2027-01-10T09:00:00+01:00")
    examples = REPO / "examples"
    quote = _quiet("quote", "price", str(examples / "cabinet-medical.yaml"), "--save")
    assert re.fullmatch(r"DEV-20270110-\w{6}", quote)
    shown = runner.invoke(app, ["quote", "show", quote, "--json"])
    assert json.loads(shown.stdout)["quote_number"] == quote
    assert _quiet("quote", "price", str(examples / "clinique-120-lits.yaml")) == "refer"

    demo = _quiet(
        "quote", "price", str(REPO / "src" / "egide" / "data" / "demo-cabinet.yaml"), "--save"
    )
    assert demo != quote and demo.startswith("DEV-20270110-")
    policy = _quiet("policy", "bind", demo, "--start", "2027-01-10")
    assert re.fullmatch(r"POL-2027-\w{8}", policy)
    shown = runner.invoke(app, ["policy", "show", policy, "--json"])
    assert json.loads(shown.stdout)["policy_number"] == policy

    monkeypatch.setenv("EGIDE_NOW", "2027-03-16T18:00:00+01:00")
    claim_file = examples / "claims" / "fuite-donnees-cabinet.yaml"
    claim = _quiet("claim", "declare", policy, str(claim_file))
    assert re.fullmatch(r"SIN-20270316-\w{6}", claim)
    shown = runner.invoke(app, ["claim", "show", claim, "--json"])
    assert json.loads(shown.stdout)["payable_total"] == "24570.00"
