"""Meeting-schedule solver: pure Python (OR-Tools CP-SAT, SciPy), no Flask, no database."""

from matchmaker.scheduling.solver.check import check, evaluate
from matchmaker.scheduling.solver.instance import InvalidLockError, Lock
from matchmaker.scheduling.solver.pipeline import Progress, replan, solve
from matchmaker.scheduling.solver.problem import Meeting, Participant, Problem
from matchmaker.scheduling.solver.result import RequiredIssue, Result, ScheduledMeeting

__all__ = [
    "InvalidLockError",
    "Lock",
    "Meeting",
    "Participant",
    "Problem",
    "Progress",
    "RequiredIssue",
    "Result",
    "ScheduledMeeting",
    "check",
    "evaluate",
    "replan",
    "solve",
]
