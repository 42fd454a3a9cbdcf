"""Doc examples that fail because of a defect in the engine, not in the doc.

One central list: each entry names the document, a text that identifies the block (a substring
of its commands or source), the symptom and what the doc promises instead. Such an example is
collected as xfail(strict=True): it fails today, and the day the engine is fixed it passes,
which fails the run until its entry is removed here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Defect:
    doc: str  # the document's path from the repository root
    block: str  # a substring of the block's commands or source
    symptom: str  # what happens, and what the doc (rightly) says should


KNOWN_ENGINE_DEFECTS: tuple[Defect, ...] = ()
