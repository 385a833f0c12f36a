"""A book of policies for the portfolio model: each policy's application plus the shared
dependencies (software vendor, cloud/HDS host, e-mail provider) that systemic events strike.

Both the OED import/export (`egide.actuarial.oed`) and the synthetic generator produce these; the
simulation engine consumes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from egide.domain.application import Application


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
