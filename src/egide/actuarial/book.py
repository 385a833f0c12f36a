"""A book of policies for the portfolio model: each policy's application plus the shared
dependencies (software vendor, cloud/HDS host, e-mail provider) that systemic events strike.

Both the OED import/export (`egide.actuarial.oed`) and the synthetic generator produce these; the
simulation engine consumes them.

`BookColumns` is the same book as columns (one row per policy, in book order): what an OED file
becomes when it is read by columns (`egide.actuarial.oed_columns`), what the engine's arrays are
built from (`BookColumns.inputs`) and what a book's fingerprint hashes (`BookColumns.fingerprint`).
`BookColumns.from_entries` gives the same columns for entries (a book from the database), so a
book has one fingerprint however it was read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from egide.domain.application import (
    OPTIONAL_SECURITY_CONTROLS,
    REQUIRED_SECURITY_CONTROLS,
    Application,
)
from egide.domain.product import COVERAGES, KINDS, Product

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]

# The yes/no answers of the security section, in the columns' order: every control, then
# medical_devices_segmented (1 yes, 0 no, -1 null: no connected medical device).
FLAG_FIELDS: tuple[str, ...] = (
    *REQUIRED_SECURITY_CONTROLS,
    *OPTIONAL_SECURITY_CONTROLS,
    "medical_devices_segmented",
)
FINGERPRINT_VERSION = b"egide-book-columns-v1\n"


@dataclass(frozen=True)
class BookEntry:
    policy_number: str
    application: Application
    software_vendor: str  # the establishment's main healthcare software (DPI / LGC / LGO vendor)
    cloud_host: str  # its HDS host, or "on_premises"
    email_vendor: str


def entry_from_application(policy_number: str, application: Application) -> BookEntry:
    """A book entry whose dependencies are the questionnaire's `technology` answers."""
    t = application.technology
    return BookEntry(
        policy_number=policy_number,
        application=application,
        software_vendor=t.software_vendor,
        cloud_host=t.cloud_host,
        email_vendor=t.email_vendor,
    )


@dataclass(frozen=True)
class BookColumns:
    """A validated book as columns, one row per policy in book order.

    Text columns are Arrow string arrays (null: not given); amounts are float64 (what the engine
    reads), counts int64, yes/no answers int8. The field order below is the fingerprint's order.
    """

    policy_number: Any  # pyarrow string array
    software_vendor: Any
    cloud_host: Any
    email_vendor: Any
    name: Any
    kind: I64  # index into KINDS
    siret: Any
    finess: Any
    postcode: Any
    city: Any
    annual_revenue: F64
    employees: I64
    beds: I64
    patient_records: I64
    flags: I8  # (P, len(FLAG_FIELDS))
    critical_patch_days: I64
    security_budget_share: F64
    incidents_last_5_years: I64
    ransomware_last_5_years: I64
    known_circumstances: I8
    limit: F64  # the annual aggregate
    deductible: F64
    sublimit: F64  # (P, 6) COVERAGES order, NaN when none is chosen

    @property
    def n_policies(self) -> int:
        return int(self.kind.shape[0])

    @staticmethod
    def from_entries(entries: Sequence[BookEntry]) -> BookColumns:
        """The columns of book entries (each application's answers)."""
        import pyarrow as pa

        def texts(values: list[str | None]) -> Any:
            return pa.array(values, pa.string())

        apps = [e.application for e in entries]
        flags = np.array(
            [[_flag(getattr(a.security, f)) for f in FLAG_FIELDS] for a in apps], dtype=np.int8
        ).reshape(len(apps), len(FLAG_FIELDS))
        sublimit = np.full((len(apps), len(COVERAGES)), np.nan)
        for i, a in enumerate(apps):
            for code, amount in a.cover.sublimits.items():
                sublimit[i, COVERAGES.index(code)] = float(amount)
        kind_index = {k: i for i, k in enumerate(KINDS)}
        return BookColumns(
            policy_number=texts([e.policy_number for e in entries]),
            software_vendor=texts([e.software_vendor for e in entries]),
            cloud_host=texts([e.cloud_host for e in entries]),
            email_vendor=texts([e.email_vendor for e in entries]),
            name=texts([a.establishment.name for a in apps]),
            kind=np.array([kind_index[a.establishment.type] for a in apps], dtype=np.int64),
            siret=texts([a.establishment.siret for a in apps]),
            finess=texts([a.establishment.finess for a in apps]),
            postcode=texts([a.establishment.postcode for a in apps]),
            city=texts([a.establishment.city for a in apps]),
            annual_revenue=np.array(
                [float(a.establishment.annual_revenue) for a in apps], dtype=np.float64
            ),
            employees=np.array([a.establishment.employees for a in apps], dtype=np.int64),
            beds=np.array([a.establishment.beds for a in apps], dtype=np.int64),
            patient_records=np.array(
                [a.establishment.patient_records for a in apps], dtype=np.int64
            ),
            flags=flags,
            critical_patch_days=np.array(
                [a.security.critical_patch_days for a in apps], dtype=np.int64
            ),
            security_budget_share=np.array(
                [float(a.security.security_budget_share) for a in apps], dtype=np.float64
            ),
            incidents_last_5_years=np.array(
                [a.history.incidents_last_5_years for a in apps], dtype=np.int64
            ),
            ransomware_last_5_years=np.array(
                [a.history.ransomware_last_5_years for a in apps], dtype=np.int64
            ),
            known_circumstances=np.array(
                [int(a.history.known_circumstances) for a in apps], dtype=np.int8
            ),
            limit=np.array([float(a.cover.limit) for a in apps], dtype=np.float64),
            deductible=np.array([float(a.cover.deductible) for a in apps], dtype=np.float64),
            sublimit=sublimit,
        )

    def fingerprint(self) -> str:
        """sha256 of the book's canonical columns: the same book gives the same fingerprint,
        whether it comes from a CSV file, a Parquet file or the database.

        The hash reads, after a version line and the number of policies, each field in the
        order of the class: its name, then its values: text as the little-endian int64 byte
        length of each value (-1 when null) followed by the UTF-8 bytes of the values; amounts as
        little-endian float64 (-0.0 read as 0.0); counts as little-endian int64; yes/no answers
        as int8 (1, 0, -1 for null). Two books differ in fingerprint when any answer, amount,
        text or the order of the policies differs (amounts below float64 precision aside: what
        the engine reads is what is hashed)."""
        digest = hashlib.sha256(FINGERPRINT_VERSION)
        digest.update(np.int64(self.n_policies).astype("<i8").tobytes())
        for f in fields(self):
            value = getattr(self, f.name)
            digest.update(f.name.encode() + b"\0")
            if isinstance(value, np.ndarray):
                if value.dtype == np.float64:
                    digest.update((value + 0.0).astype("<f8").tobytes())
                elif value.dtype == np.int8:
                    digest.update(value.astype(np.int8).tobytes())
                else:
                    digest.update(value.astype("<i8").tobytes())
            else:
                _hash_texts(digest, value)
        return digest.hexdigest()

    def inputs(self, product: Product) -> Any:
        """The rating inputs of the policies (`egide.actuarial.sim_params.PolicyInputs`)."""
        from egide.actuarial.sim_params import PolicyInputs

        model = product.risk_model
        flag_column = {f: j for j, f in enumerate(FLAG_FIELDS)}
        missing = np.zeros((self.n_policies, len(model.controls)), dtype=np.bool_)
        for j, control in enumerate(model.controls.values()):
            # a missing control is an answer "no"; medical_devices_segmented null is no device
            missing[:, j] = self.flags[:, flag_column[control.code]] == 0
        graded_answers: Mapping[str, npt.NDArray[Any]] = {
            "critical_patch_days": self.critical_patch_days,
            "security_budget_share": self.security_budget_share,
        }
        graded = np.empty((self.n_policies, len(model.graded)))
        for j, g in enumerate(model.graded.values()):
            graded[:, j] = graded_answers[g.code].astype(np.float64)
        return PolicyInputs(
            kind=self.kind,
            revenue=self.annual_revenue,
            records=self.patient_records.astype(np.float64),
            missing=missing,
            graded=graded,
            incidents=self.incidents_last_5_years.astype(np.float64),
            ransomware=self.ransomware_last_5_years.astype(np.float64),
            limit=self.limit,
            deductible=self.deductible,
            sublimit=self.sublimit,
        )


def _flag(value: bool | None) -> int:
    return -1 if value is None else int(value)


def _hash_texts(digest: Any, array: Any) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    array = array.cast(pa.large_string())
    lengths = pc.fill_null(pc.binary_length(array), -1).to_numpy(zero_copy_only=False)
    digest.update(lengths.astype("<i8").tobytes())
    values = pc.drop_null(array)
    if len(values) == 0:
        return
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)
    start, end = offsets[values.offset], offsets[values.offset + len(values)]
    digest.update(memoryview(values.buffers()[2])[start:end])
