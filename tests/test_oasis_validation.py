"""Oasis LMF's own cyber validation case, run through our terms engine.

The expected files come from Oasis's validation suite (../shared/data/oasis-fm-validation, see
its PROVENANCE.md); every expected number is read from them, none is written here. Tolerance:
Oasis's own, 1e-3 relative (Oasis computes in float32).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from egide.actuarial.oed import (
    OED_CYBER_COVERAGES,
    OasisResult,
    oasis_account_insured_loss,
)
from egide.domain.terms import ClaimLosses, CoverageTermsInForce, PolicyTerms, apply_terms
from tests.conftest import SHARED_DATA

DATA = SHARED_DATA
CASE = DATA / "oasis-fm-validation" / "cyber"
EXPECTED = CASE / "expected"
REL = 1e-3


def _csv(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]  # the account's header has stray spaces
    return frame


@pytest.fixture(scope="module")
def account() -> Mapping[str, object]:
    frame = _csv(CASE / "account.csv")
    assert len(frame) == 1
    return frame.iloc[0].to_dict()


@pytest.fixture(scope="module")
def coverage_code() -> dict[int, str]:
    values = _csv(DATA / "oed-v4" / "CoverageValues.csv")
    return {int(i): c for i, c in zip(values["CoverageID"], values["CoverageCode"], strict=True)}


@pytest.fixture(scope="module")
def ground_up(coverage_code: dict[int, str]) -> dict[str, Decimal]:
    guls = _csv(EXPECTED / "guls.csv")
    items = _csv(EXPECTED / "gul_summary_map.csv")
    item_cov = {
        int(i): coverage_code[int(c)]
        for i, c in zip(items["item_id"], items["coverage_type_id"], strict=True)
    }
    assert len(set(guls["event_id"])) == 1
    out: dict[str, Decimal] = {}
    for item, loss in zip(guls["item_id"], guls["loss"], strict=True):
        code = item_cov[int(item)]
        out[code] = out.get(code, Decimal(0)) + Decimal(loss)
    return out


@pytest.fixture(scope="module")
def result(account: Mapping[str, object], ground_up: dict[str, Decimal]) -> OasisResult:
    return oasis_account_insured_loss(account, ground_up)


def _close(ours: Decimal, theirs: Decimal) -> bool:
    return abs(float(ours) - float(theirs)) <= REL * max(abs(float(theirs)), 1e-9)


def test_the_case_covers_all_nine_oed_cyber_coverages(ground_up: dict[str, Decimal]) -> None:
    assert set(ground_up) == set(OED_CYBER_COVERAGES)


def test_ground_up_and_insured_totals_match_oasis_loc_summary(result: OasisResult) -> None:
    summary = _csv(EXPECTED / "loc_summary.csv")
    assert len(summary) == 1
    assert _close(result.ground_up, Decimal(summary.loc[0, "loss_gul"]))
    assert _close(result.insured, Decimal(summary.loc[0, "loss_il"]))


def test_back_allocation_per_item_matches_oasis_ils(
    result: OasisResult, coverage_code: dict[int, str]
) -> None:
    ils = _csv(EXPECTED / "ils.csv")
    outputs = _csv(EXPECTED / "fm_summary_map.csv")
    output_cov = {
        int(o): coverage_code[int(c)]
        for o, c in zip(outputs["output_id"], outputs["coverage_type_id"], strict=True)
    }
    assert len(ils) == len(OED_CYBER_COVERAGES)
    for output, loss in zip(ils["output_id"], ils["loss"], strict=True):
        code = output_cov[int(output)]
        assert _close(result.per_item[code], Decimal(loss)), (code, result.per_item[code], loss)
    assert _close(sum(result.per_item.values(), Decimal(0)), result.insured)


def test_each_level_matches_oasis_financial_structure(
    result: OasisResult, ground_up: dict[str, Decimal], coverage_code: dict[int, str]
) -> None:
    """Level by level against fm_programme / fm_policytc / fm_profile: coverage terms (level 1),
    policy deductible (level 2), layer (level 3)."""
    profiles = _csv(EXPECTED / "fm_profile.csv").set_index("profile_id")
    policytc = _csv(EXPECTED / "fm_policytc.csv")
    items = _csv(EXPECTED / "fm_summary_map.csv")
    agg_cov = {
        int(a): coverage_code[int(c)]
        for a, c in zip(items["agg_id"], items["coverage_type_id"], strict=True)
    }

    def profile(level: int, agg: int) -> pd.Series:
        row = policytc[(policytc["level_id"] == str(level)) & (policytc["agg_id"] == str(agg))]
        return profiles.loc[row["profile_id"].iloc[0]]

    level1 = {}
    for agg, code in agg_cov.items():
        p = profile(1, agg)
        x = ground_up[code]
        if p["calcrule_id"] == "1":  # deductible then limit
            x = min(max(x - Decimal(p["deductible1"]), Decimal(0)), Decimal(p["limit1"]))
        else:
            assert p["calcrule_id"] == "100"  # pass-through
        level1[code] = x
        assert (
            _close(result.after_coverage_terms[code], x) or x == result.after_coverage_terms[code]
        )
    p2 = profile(2, 1)
    assert p2["calcrule_id"] == "12"  # deductible only, on the sum
    level2 = max(sum(level1.values(), Decimal(0)) - Decimal(p2["deductible1"]), Decimal(0))
    assert _close(result.after_policy_deductible, level2)
    p3 = profile(3, 1)
    assert p3["calcrule_id"] == "2"  # attachment, limit, share
    level3 = min(
        max(level2 - Decimal(p3["attachment1"]), Decimal(0)), Decimal(p3["limit1"])
    ) * Decimal(p3["share1"])
    assert _close(result.insured, level3)


def test_coverages_we_lack_follow_the_same_rule_as_ours() -> None:
    """CBI, FIN and ENO go through apply_terms in a lent slot: the same numbers as a coverage of
    ours with the same terms."""
    account = {
        "PolLimitCBI": "30000",
        "PolDedCBI": "2500",
        "PolLimitDIAS": "30000",
        "PolDedDIAS": "2500",
    }
    for x in ("0", "1000", "2500", "20000", "32500", "1000000"):
        r = oasis_account_insured_loss(account, {"CBI": Decimal(x), "DIAS": Decimal(x)})
        assert r.after_coverage_terms["CBI"] == r.after_coverage_terms["DIAS"]
        alone = apply_terms(
            PolicyTerms(
                coverages={"data_restoration": CoverageTermsInForce(Decimal(30000), Decimal(2500))},
                deductible=Decimal(0),
                aggregate_limit=Decimal("1e12"),
            ),
            ClaimLosses(amounts={"data_restoration": Decimal(x)}),
        )
        assert r.after_coverage_terms["DIAS"] == alone.payable


def test_layer_terms_blank_mean_no_attachment_no_limit_full_share() -> None:
    r = oasis_account_insured_loss(
        {"PolDed": "1000"}, {"EXT": Decimal(50000), "LIA": Decimal(25000)}
    )
    assert r.insured == Decimal(74000)
    layered = oasis_account_insured_loss(
        {
            "PolDed": "1000",
            "LayerAttachment": "4000",
            "LayerLimit": "60000",
            "LayerParticipation": "0.5",
        },
        {"EXT": Decimal(50000), "LIA": Decimal(25000)},
    )
    assert layered.insured == min(Decimal(74000) - 4000, Decimal(60000)) * Decimal("0.5")


def test_unknown_coverage_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        oasis_account_insured_loss({}, {"1Building": Decimal(1)})
