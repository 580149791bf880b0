"""Review requests of kind 'wrong_number': a party says the number on file reached someone else.

Only the CHECK constraint on review_requests.kind changes (autogenerate does not see CHECK constraints: written by
hand). On SQLite the batch operation copies the table, rows and all; on PostgreSQL it is two ALTERs.

Revision ID: a098da038aa9
Revises: f2a1ab9e78fa
Create Date: 2026-12-06 10:42:16
"""
from alembic import op

revision = "a098da038aa9"
down_revision = "f2a1ab9e78fa"
branch_labels = None
depends_on = None

KINDS_BEFORE = ("distress", "do_not_contact", "dispute")
KINDS_AFTER = (*KINDS_BEFORE, "wrong_number")


def _allow_kinds(kinds: tuple[str, ...]) -> None:
    quoted = ", ".join(f"'{kind}'" for kind in kinds)
    with op.batch_alter_table("review_requests") as batch:
        batch.drop_constraint("ck_kind_allowed", type_="check")
        batch.create_check_constraint("ck_kind_allowed", f"kind IN ({quoted})")


def upgrade() -> None:
    _allow_kinds(KINDS_AFTER)


def downgrade() -> None:
    # Refused (the constraint does not hold) while a wrong_number request is kept: nothing is deleted.
    _allow_kinds(KINDS_BEFORE)
