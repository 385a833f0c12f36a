"""Which HHS breaches a fit uses: the filter and the portal's two values it matches on.

Standard library only, kept apart from `egide.actuarial.breaches` (NumPy and SciPy) so that the
CLI declares its ``--entity-type`` option without loading them; `breaches` re-exports all three.
"""

from __future__ import annotations

from enum import StrEnum

PROVIDER = "Healthcare Provider"
HACKING = "Hacking/IT Incident"


class EntityFilter(StrEnum):
    """Which breaches a fit uses."""

    ALL = "all"
    PROVIDER = "provider"
    PROVIDER_HACKING = "provider-hacking"

    @property
    def description(self) -> str:
        return {
            EntityFilter.ALL: "all covered entities",
            EntityFilter.PROVIDER: f"Covered Entity Type = {PROVIDER}",
            EntityFilter.PROVIDER_HACKING: f"{PROVIDER} with Type of Breach containing {HACKING}",
        }[self]
