from .ledger import Account, AccountingPeriod, JournalEntry, JournalLine
from .obligations import PerformanceObligation, RecognizedUsage, RevenueSchedule, ScheduleLine, SSPEntry
from .runs import RevenueRun

__all__ = [
    "Account",
    "AccountingPeriod",
    "JournalEntry",
    "JournalLine",
    "PerformanceObligation",
    "RecognizedUsage",
    "RevenueRun",
    "RevenueSchedule",
    "SSPEntry",
    "ScheduleLine",
]
