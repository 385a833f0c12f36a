"""The copies under tests/data are the company's files from ../shared/data, byte for byte.

They are kept in the repository so that a clean checkout runs every test wherever it lies; when the
checkout sits beside ../shared (as on the team's machines), any drift between the two is caught here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED_DATA

COMPANY_DATA = REPO.parent / "shared" / "data"
COPIES = sorted(p for p in SHARED_DATA.rglob("*") if p.is_file() and p.name != "README.md")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_dataset_keeps_its_provenance_and_licence() -> None:
    for dataset in ("oed-v4", "oasis-fm-validation", "hhs-breach-portal"):
        assert (SHARED_DATA / dataset / "PROVENANCE.md").is_file(), dataset
    assert (SHARED_DATA / "oed-v4" / "LICENSE.md").is_file()
    assert (SHARED_DATA / "oasis-fm-validation" / "LICENSE").is_file()


def test_the_copies_match_the_company_files() -> None:
    if not COMPANY_DATA.is_dir():
        pytest.skip(
            f"../shared/data is not beside this checkout ({COMPANY_DATA}): nothing to compare"
        )
    assert len(COPIES) >= 10
    for copy in COPIES:
        original = COMPANY_DATA / copy.relative_to(SHARED_DATA)
        assert original.is_file(), f"{original} is gone from ../shared/data"
        assert _sha256(copy) == _sha256(original), f"{copy} differs from {original}"
