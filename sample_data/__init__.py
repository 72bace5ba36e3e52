"""Deterministic sample landing zone for the behavioural segmentation pipeline.

`generate_landing(...)` writes orders/events/customers files exactly as docs/input-contract.md
describes, with planted personas (ground truth in a separate directory) and a little realistic dirt.
"""

from sample_data.dirt import DirtConfig
from sample_data.generator import DEFAULT_START, SIZES, GenerationSummary, generate_landing
from sample_data.personas import PERSONA_NAMES

__all__ = ["DEFAULT_START", "PERSONA_NAMES", "SIZES", "DirtConfig", "GenerationSummary", "generate_landing"]
