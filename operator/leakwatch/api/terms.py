"""The words LeakWatch's API and its logic share, each declared once.

They live in the lowest layer (api) so that core, which reasons with them, and the CRD models,
which publish them, name the same type: a new verdict or action is added here and nowhere else.
"""

from __future__ import annotations

from typing import Literal

# Suspected: growth that would be a leak, seen for half the time a Leaking call needs. Shown in
# status, metrics and the dashboard; no alert and no recommendation follow from it.
Verdict = Literal["Leaking", "Suspected", "Stable", "InsufficientData"]
VERDICTS: tuple[Verdict, ...] = ("Leaking", "Suspected", "Stable", "InsufficientData")
Sensitivity = Literal["Low", "Medium", "High"]
Action = Literal["Upgrade", "Rollback", "Investigate", "None"]
ConditionStatus = Literal["True", "False", "Unknown"]
