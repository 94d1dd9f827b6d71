"""Meeting-schedule solver: pure Python (OR-Tools CP-SAT, SciPy), no Flask, no database."""

from matchmaker.scheduling.solver.check import check, evaluate
from matchmaker.scheduling.solver.instance import InvalidLockError, Lock
from matchmaker.scheduling.solver.problem import Meeting, Participant, Problem
from matchmaker.scheduling.solver.solver import (
    RequiredIssue,
    Result,
    ScheduledMeeting,
    replan,
    solve,
)

__all__ = [
    "InvalidLockError",
    "Lock",
    "Meeting",
    "Participant",
    "Problem",
    "RequiredIssue",
    "Result",
    "ScheduledMeeting",
    "check",
    "evaluate",
    "replan",
    "solve",
]
