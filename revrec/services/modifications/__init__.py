"""Contract modifications (accounting.md §10, IFRS 15.18–21 / ASC 606-10-25-10–13).

An amendment is analysed under each of the three treatments, side by side, with the same pure
functions that will apply it, and the one the standard requires is proposed:

* **separate contract** (15.20): the amendment only adds distinct goods, priced at their SSP as of the
  modification date (unit SSP × units added). Nothing already allocated moves.
* **prospective** — termination + new contract (15.21(a)): the remaining goods are distinct from those
  transferred. Satisfied obligations (and the satisfied part of a series or any over-time obligation)
  keep what they have recognized; the remaining consideration = transaction price not yet recognized
  + consideration added is allocated over the remaining obligations only, at their SSPs as of the
  modification date (the remaining part of each).
* **cumulative catch-up** (15.21(b)): the remaining goods are part of a single, partly satisfied
  obligation (over time and not a series): its new price and progress are caught up in the
  modification's period. Satisfied obligations keep what they have recognized.

A satisfied obligation whose own consideration the amendment changes (a price concession on goods
already delivered, IE Example 5 Case B) takes that change at once (15.88). Nothing changes in
revenue until an approver signs the modification off (maker-checker); old schedules keep running
meanwhile. The satisfied part is what the schedule holds through the month before the modification
(or the last posted month, if later) and, for an obligation recognized by time elapsed, the days of
the modification month before its date (day-exact, §3); a point-in-time obligation delivered before
the effective date is satisfied."""

from revrec.services.modifications.analysis import TREATMENTS, modification_analyze
from revrec.services.modifications.apply import register
from revrec.services.modifications.requests import KIND, modification_choose, modification_propose

__all__ = [
    "KIND",
    "TREATMENTS",
    "modification_analyze",
    "modification_choose",
    "modification_propose",
    "register",
]
