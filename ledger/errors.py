"""Exceptions raised by the ledger, kept apart so policy and repository share them."""


class LedgerError(Exception):
    """Base class for every ledger error."""


class PolicyViolation(LedgerError):
    """A request the lender's collection policy does not allow.

    `code` is stable and machine-readable (the dialogue picks its reply from it);
    `message` is for operators and never contains personal data.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class NotFound(LedgerError, LookupError):
    """The borrower, account, plan or conversation named does not exist."""
