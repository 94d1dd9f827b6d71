"""Meeting-schedule solver: pure Python (OR-Tools CP-SAT, SciPy), no Flask, no database."""

from matchmaker.scheduling.check import check, evaluate
from matchmaker.scheduling.instance import InvalidLockError, Lock
from matchmaker.scheduling.problem import Meeting, Participant, Problem
from matchmaker.scheduling.solver import RequiredIssue, Result, ScheduledMeeting, replan, solve

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
