from .estimates import ObligationCost, VariableEstimate
from .ledger import Account, AccountingPeriod, JournalEntry, JournalLine, PeriodCloseSnapshot
from .obligations import (
    ContractModification,
    PerformanceObligation,
    RecognizedUsage,
    RevenueSchedule,
    ScheduleLine,
    SSPEntry,
)
from .runs import RevenueRun, RevenueRunItem

__all__ = [
    "Account",
    "AccountingPeriod",
    "ContractModification",
    "JournalEntry",
    "JournalLine",
    "ObligationCost",
    "PerformanceObligation",
    "PeriodCloseSnapshot",
    "RecognizedUsage",
    "RevenueRun",
    "RevenueRunItem",
    "RevenueSchedule",
    "SSPEntry",
    "ScheduleLine",
    "VariableEstimate",
]
