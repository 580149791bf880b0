"""payments, follow-up, outbound campaigns, demo inbox

Revision ID: de793ee43fb7
Revises: a098da038aa9
Create Date: 2026-12-06 11:26:19.035617
"""
from alembic import op
import sqlalchemy as sa

revision = 'de793ee43fb7'
down_revision = 'a098da038aa9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign_states',
    sa.Column('campaign', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'paused')", name='ck_status_allowed'),
    sa.PrimaryKeyConstraint('campaign', name=op.f('campaign_states_pkey'))
    )
    op.create_table('demo_inbox_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('borrower_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('link', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('sms', 'wechat')", name='ck_channel_allowed'),
    sa.PrimaryKeyConstraint('id', name=op.f('demo_inbox_messages_pkey'))
    )
    with op.batch_alter_table('demo_inbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_demo_inbox_borrower', ['borrower_id', 'id'], unique=False)

    op.create_table('campaign_contacts',
    sa.Column('attempt_id', sa.String(length=32), nullable=False),
    sa.Column('borrower_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('campaign', sa.String(length=64), nullable=False),
    sa.Column('segment', sa.String(length=64), nullable=False),
    sa.Column('contact_key', sa.String(length=96), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('script', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=True),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('planned', 'deferred', 'refused', 'error', 'sent', 'dialled', 'answered', 'no_answer', 'busy', 'failed', 'canceled', 'machine')", name='ck_status_allowed'),
    sa.ForeignKeyConstraint(['account_id'], ['loan_accounts.account_id'], name=op.f('campaign_contacts_account_id_fkey')),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.borrower_id'], name=op.f('campaign_contacts_borrower_id_fkey')),
    sa.PrimaryKeyConstraint('attempt_id', name=op.f('campaign_contacts_pkey')),
    sa.UniqueConstraint('borrower_id', 'contact_key', name='uq_campaign_contact_once')
    )
    with op.batch_alter_table('campaign_contacts', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_contacts_borrower_time', ['borrower_id', 'planned_at'], unique=False)
        batch_op.create_index('ix_campaign_contacts_campaign_time', ['campaign', 'planned_at'], unique=False)

    op.create_table('follow_up_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('borrower_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=True),
    sa.Column('paid_cents', sa.BigInteger(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('payment_received', 'account_settled', 'promise_kept', 'promise_broken', 'instalment_paid', 'instalment_missed')", name='ck_kind_allowed'),
    sa.ForeignKeyConstraint(['account_id'], ['loan_accounts.account_id'], name=op.f('follow_up_events_account_id_fkey')),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.borrower_id'], name=op.f('follow_up_events_borrower_id_fkey')),
    sa.PrimaryKeyConstraint('id', name=op.f('follow_up_events_pkey')),
    sa.UniqueConstraint('kind', 'reference', name='uq_follow_up_event_once'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('follow_up_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_events_borrower_id'), ['borrower_id'], unique=False)

    op.create_table('payments',
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('applied_cents', sa.BigInteger(), nullable=False),
    sa.Column('credit_cents', sa.BigInteger(), nullable=False),
    sa.Column('balance_after_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("source IN ('api', 'csv')", name='ck_source_allowed'),
    sa.CheckConstraint('amount_cents > 0', name='ck_payment_positive'),
    sa.CheckConstraint('applied_cents >= 0 AND credit_cents >= 0 AND applied_cents + credit_cents = amount_cents', name='ck_payment_applied_plus_credit'),
    sa.CheckConstraint('balance_after_cents >= 0', name='ck_payment_balance_after'),
    sa.ForeignKeyConstraint(['account_id'], ['loan_accounts.account_id'], name=op.f('payments_account_id_fkey')),
    sa.PrimaryKeyConstraint('payment_id', name=op.f('payments_pkey'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_account_id'), ['account_id'], unique=False)

    op.create_table('segment_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('borrower_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('segment', sa.String(length=64), nullable=False),
    sa.Column('previous_segment', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['loan_accounts.account_id'], name=op.f('segment_changes_account_id_fkey')),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.borrower_id'], name=op.f('segment_changes_borrower_id_fkey')),
    sa.PrimaryKeyConstraint('id', name=op.f('segment_changes_pkey'))
    )
    with op.batch_alter_table('segment_changes', schema=None) as batch_op:
        batch_op.create_index('ix_segment_changes_borrower_time', ['borrower_id', 'changed_at'], unique=False)

    op.create_table('payment_allocations',
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('component', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("component IN ('fees', 'interest', 'principal')", name='ck_component_allowed'),
    sa.CheckConstraint('amount_cents > 0', name='ck_payment_allocation_positive'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.payment_id'], name=op.f('payment_allocations_payment_id_fkey')),
    sa.PrimaryKeyConstraint('payment_id', 'component', name=op.f('payment_allocations_pkey'))
    )
    op.create_table('instalment_outcomes',
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('paid_cents', sa.BigInteger(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('paid', 'missed', 'cancelled')", name='ck_outcome_allowed'),
    sa.ForeignKeyConstraint(['plan_id', 'seq'], ['instalment_plan_items.plan_id', 'instalment_plan_items.seq'], name='fk_instalment_outcome_item'),
    sa.PrimaryKeyConstraint('plan_id', 'seq', name=op.f('instalment_outcomes_pkey'))
    )
    op.create_table('payment_instalment_allocations',
    sa.Column('payment_id', sa.String(length=64), nullable=False),
    sa.Column('plan_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_cents > 0', name='ck_payment_instalment_positive'),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.payment_id'], name=op.f('payment_instalment_allocations_payment_id_fkey')),
    sa.ForeignKeyConstraint(['plan_id', 'seq'], ['instalment_plan_items.plan_id', 'instalment_plan_items.seq'], name='fk_payment_instalment_item'),
    sa.PrimaryKeyConstraint('payment_id', 'plan_id', 'seq', name=op.f('payment_instalment_allocations_pkey'))
    )
    with op.batch_alter_table('payment_instalment_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_payment_instalment_item', ['plan_id', 'seq'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payment_instalment_allocations', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_instalment_item')

    op.drop_table('payment_instalment_allocations')
    op.drop_table('instalment_outcomes')
    op.drop_table('payment_allocations')
    with op.batch_alter_table('segment_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_changes_borrower_time')

    op.drop_table('segment_changes')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_account_id'))

    op.drop_table('payments')
    with op.batch_alter_table('follow_up_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_events_borrower_id'))

    op.drop_table('follow_up_events')
    with op.batch_alter_table('campaign_contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_contacts_campaign_time')
        batch_op.drop_index('ix_campaign_contacts_borrower_time')

    op.drop_table('campaign_contacts')
    with op.batch_alter_table('demo_inbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_demo_inbox_borrower')

    op.drop_table('demo_inbox_messages')
    op.drop_table('campaign_states')
