"""conversations.campaign_attempt_id: the chat reminder (campaign contact) whose signed link opened a chat, so a
promise made in that chat counts for the reminder's campaign (ledger.campaign_records, ledger.kpis).

Revision ID: 5e0c2a7d9b14
Revises: c3a4e1d2b5f6
Create Date: 2026-12-07 00:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "5e0c2a7d9b14"
down_revision = "c3a4e1d2b5f6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("campaign_attempt_id", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_conversations_campaign_attempt_id"), ["campaign_attempt_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index(batch.f("ix_conversations_campaign_attempt_id"))
        batch.drop_column("campaign_attempt_id")
