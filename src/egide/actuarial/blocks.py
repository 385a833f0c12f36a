"""How simulated years are cut into blocks, each block with its own random stream.

Standard library only, kept apart from `egide.actuarial.engine` (NumPy and numba) so that the
CLI declares its ``--block-years`` default without loading them; `engine` re-exports it.
"""

from __future__ import annotations

DEFAULT_BLOCK_YEARS = 1000
