"""The ledger: borrowers, accounts, plans, promises and claims behind SQLAlchemy.

Callers use `Ledger` (repository.py), `Payments` (payments.py) and `FollowUp` (follow_up.py) and get frozen
views back; ORM objects never leave
this package, so the action server cannot lazily load rows outside a transaction.
"""

from ledger.errors import LedgerError, NotFound, PolicyViolation

__all__ = ["LedgerError", "NotFound", "PolicyViolation"]
