"""Campaign contacts of status 'unknown': claimed, and the worker stopped before it recorded an outcome (a crash).

The campaign tick closes such a contact once it has been 'planned' longer than any contact takes (campaigns.tick).
Only the CHECK constraint on campaign_contacts.status changes (autogenerate does not see CHECK constraints: written
by hand like a098da038aa9). On SQLite the batch operation copies the table, rows and all; on PostgreSQL it is two
ALTERs.

Revision ID: c3a4e1d2b5f6
Revises: 90210b1805bc
Create Date: 2026-12-06 21:15:00
"""
from alembic import op

revision = "c3a4e1d2b5f6"
down_revision = "90210b1805bc"
branch_labels = None
depends_on = None

STATUSES_BEFORE = ("planned", "deferred", "refused", "error", "sent", "dialled", "answered", "no_answer", "busy",
                   "failed", "canceled", "machine")
STATUSES_AFTER = (*STATUSES_BEFORE, "unknown")


def _allow_statuses(statuses: tuple[str, ...]) -> None:
    quoted = ", ".join(f"'{status}'" for status in statuses)
    with op.batch_alter_table("campaign_contacts") as batch:
        batch.drop_constraint("ck_status_allowed", type_="check")
        batch.create_check_constraint("ck_status_allowed", f"status IN ({quoted})")


def upgrade() -> None:
    _allow_statuses(STATUSES_AFTER)


def downgrade() -> None:
    # Refused (the constraint does not hold) while an 'unknown' contact is kept: nothing is deleted.
    _allow_statuses(STATUSES_BEFORE)
