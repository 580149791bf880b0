"""Baseline: the schema `Base.metadata.create_all` made before the ledger had migrations.

Databases made that way have some or all of these tables and no alembic_version: this revision keeps every table
it finds (as create_all did) and creates the missing ones, so they join the revisions after it like a new one.
On PostgreSQL their constraints already have the names below (its own defaults, ledger.models.NAMING_CONVENTION);
on SQLite they had none, so each such table is copied once with them named, for later revisions to drop by name.

Revision ID: f2a1ab9e78fa
Revises:
Create Date: 2026-12-06 10:41:11
"""
from alembic import op
import sqlalchemy as sa

revision = "f2a1ab9e78fa"
down_revision = None
branch_labels = None
depends_on = None

# ledger.models.NAMING_CONVENTION as it was at this revision.
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(column_0_name)s_check",
    "ix": "ix_%(column_0_label)s",
}
# The ledger's ids (ledger.models.IdType): SQLite only auto-increments a column declared exactly INTEGER.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_DATETIME = sa.DateTime(timezone=True)


def _create_table_unless_present(name: str, *elements, **options) -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table(name):
        op.create_table(name, *elements, **options)
    elif op.get_bind().dialect.name == "sqlite" and inspector.get_pk_constraint(name)["name"] is None:
        with op.batch_alter_table(name, recreate="always", naming_convention=NAMING_CONVENTION,
                                  table_kwargs={key: value for key, value in options.items()
                                                if key.startswith("sqlite_")}):
            pass


def upgrade() -> None:
    _create_table_unless_present(
        "audit_checkpoints",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("last_purged_id", sa.BigInteger(), nullable=False),
        sa.Column("anchor_hash", sa.String(length=64), nullable=False),
        sa.Column("purged_count", sa.Integer(), nullable=False),
        sa.Column("cutoff", UTC_DATETIME, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="audit_checkpoints_pkey"),
    )
    _create_table_unless_present(
        "audit_records",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("speaker", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=True),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("speaker IN ('bot', 'borrower', 'agent')", name="ck_speaker_allowed"),
        sa.PrimaryKeyConstraint("id", name="audit_records_pkey"),
        sa.UniqueConstraint("prev_hash", name="audit_records_prev_hash_key"),
        sa.UniqueConstraint("record_hash", name="audit_records_record_hash_key"),
        sa.Index("ix_audit_records_conversation_id", "conversation_id"),
        sa.Index("ix_audit_records_created_at", "created_at"),
        sqlite_autoincrement=True,
    )
    _create_table_unless_present(
        "borrowers",
        sa.Column("borrower_id", sa.String(length=32), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column("honorific", sa.String(length=4), nullable=False),
        sa.Column("id_number_masked", sa.String(length=18), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("collection_paused", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("honorific IN ('先生', '女士', '')", name="ck_honorific_allowed"),
        sa.CheckConstraint("language IN ('zh', 'en')", name="ck_language_allowed"),
        sa.PrimaryKeyConstraint("borrower_id", name="borrowers_pkey"),
    )
    _create_table_unless_present(
        "console_agents",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("role IN ('agent', 'supervisor')", name="ck_role_allowed"),
        sa.PrimaryKeyConstraint("name", name="console_agents_pkey"),
    )
    _create_table_unless_present(
        "borrower_flags",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("cleared_at", UTC_DATETIME, nullable=True),
        sa.Column("cleared_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"], name="borrower_flags_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="borrower_flags_pkey"),
        sa.Index("ix_borrower_flags_borrower_id", "borrower_id"),
        sa.Index("uq_borrower_flag_active", "borrower_id", "kind", unique=True,
                 sqlite_where=sa.text("cleared_at IS NULL"), postgresql_where=sa.text("cleared_at IS NULL")),
    )
    _create_table_unless_present(
        "borrower_phones",
        sa.Column("borrower_id", sa.String(length=32), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"], name="borrower_phones_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("borrower_id", name="borrower_phones_pkey"),
        sa.Index("ix_borrower_phones_e164", "e164"),
    )
    _create_table_unless_present(
        "callback_requests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("callback_at", UTC_DATETIME, nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"],
                                name="callback_requests_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="callback_requests_pkey"),
        sa.Index("ix_callback_requests_borrower_id", "borrower_id"),
    )
    _create_table_unless_present(
        "contact_attempts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"], name="contact_attempts_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="contact_attempts_pkey"),
        sa.Index("ix_contact_attempts_borrower_id", "borrower_id"),
        sa.Index("ix_contact_attempts_created_at", "created_at"),
    )
    _create_table_unless_present(
        "conversations",
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("ended_at", UTC_DATETIME, nullable=True),
        sa.Column("identity_verified", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"], name="conversations_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("conversation_id", name="conversations_pkey"),
    )
    _create_table_unless_present(
        "do_not_contact",
        sa.Column("borrower_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"], name="do_not_contact_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("borrower_id", name="do_not_contact_pkey"),
    )
    _create_table_unless_present(
        "handoff_requests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"], name="handoff_requests_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="handoff_requests_pkey"),
        sa.UniqueConstraint("conversation_id", "reason", name="uq_handoff_once"),
        sa.Index("ix_handoff_requests_conversation_id", "conversation_id"),
    )
    _create_table_unless_present(
        "identity_checks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("checked_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("method IN ('id_last4', 'date_of_birth')", name="ck_method_allowed"),
        sa.CheckConstraint("result IN ('passed', 'failed', 'locked_out')", name="ck_result_allowed"),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"], name="identity_checks_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="identity_checks_pkey"),
        sa.Index("ix_identity_checks_borrower_time", "borrower_id", "checked_at"),
        sa.Index("ix_identity_checks_conversation_id", "conversation_id"),
    )
    _create_table_unless_present(
        "loan_accounts",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=False),
        sa.Column("lender_name", sa.String(length=100), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("principal_cents", sa.BigInteger(), nullable=False),
        sa.Column("interest_cents", sa.BigInteger(), nullable=False),
        sa.Column("fees_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("risk_tier", sa.String(length=1), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint("risk_tier IN ('A', 'B', 'C', 'D')", name="ck_risk_tier_allowed"),
        sa.CheckConstraint("status IN ('collecting', 'paused', 'settled')", name="ck_status_allowed"),
        sa.CheckConstraint("principal_cents >= 0 AND interest_cents >= 0 AND fees_cents >= 0",
                           name="ck_money_not_negative"),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"], name="loan_accounts_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("account_id", name="loan_accounts_pkey"),
        sa.Index("ix_loan_accounts_borrower_id", "borrower_id"),
    )
    _create_table_unless_present(
        "review_requests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("said", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("reviewed_at", UTC_DATETIME, nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("kind IN ('distress', 'do_not_contact', 'dispute')", name="ck_kind_allowed"),
        sa.CheckConstraint("status IN ('pending', 'applied', 'dismissed')", name="ck_status_allowed"),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"], name="review_requests_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="review_requests_pkey"),
        sa.UniqueConstraint("conversation_id", "kind", name="uq_review_request_once"),
        sa.Index("ix_review_requests_borrower_id", "borrower_id"),
        sa.Index("ix_review_requests_status", "status"),
    )
    _create_table_unless_present(
        "verification_unlocks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=False),
        sa.Column("unlocked_by", sa.String(length=64), nullable=False),
        sa.Column("unlocked_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"],
                                name="verification_unlocks_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="verification_unlocks_pkey"),
        sa.Index("ix_verification_unlocks_borrower_id", "borrower_id"),
    )
    _create_table_unless_present(
        "claims",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("borrower_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=True),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("claimed_date", sa.Date(), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("kind IN ('dispute', 'paid', 'hardship', 'extension', 'fee_waiver')",
                           name="ck_kind_allowed"),
        sa.ForeignKeyConstraint(["account_id"], ["loan_accounts.account_id"], name="claims_account_id_fkey"),
        sa.ForeignKeyConstraint(["borrower_id"], ["borrowers.borrower_id"], name="claims_borrower_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="claims_pkey"),
        sa.UniqueConstraint("idempotency_key", name="uq_claim_once"),
        sa.Index("ix_claims_borrower_id", "borrower_id"),
    )
    _create_table_unless_present(
        "instalment_plans",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("fee_cents", sa.BigInteger(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("hardship", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("status IN ('proposed', 'accepted', 'cancelled')", name="ck_status_allowed"),
        sa.ForeignKeyConstraint(["account_id"], ["loan_accounts.account_id"],
                                name="instalment_plans_account_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="instalment_plans_pkey"),
        sa.Index("ix_instalment_plans_account_id", "account_id"),
        sa.Index("ix_instalment_plans_conversation_id", "conversation_id"),
    )
    _create_table_unless_present(
        "promises_to_pay",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("amount_cents > 0", name="ck_promise_positive"),
        sa.ForeignKeyConstraint(["account_id"], ["loan_accounts.account_id"], name="promises_to_pay_account_id_fkey"),
        sa.PrimaryKeyConstraint("id", name="promises_to_pay_pkey"),
        sa.UniqueConstraint("account_id", "conversation_id", "amount_cents", "promised_date", name="uq_promise_once"),
        sa.Index("ix_promises_to_pay_account_id", "account_id"),
    )
    _create_table_unless_present(
        "instalment_plan_items",
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["instalment_plans.id"], name="instalment_plan_items_plan_id_fkey"),
        sa.PrimaryKeyConstraint("plan_id", "seq", name="instalment_plan_items_pkey"),
    )


def downgrade() -> None:
    for name in ("instalment_plan_items", "promises_to_pay", "instalment_plans", "claims", "verification_unlocks",
                 "review_requests", "loan_accounts", "identity_checks", "handoff_requests", "do_not_contact",
                 "conversations", "contact_attempts", "callback_requests", "borrower_phones", "borrower_flags",
                 "console_agents", "borrowers", "audit_records", "audit_checkpoints"):
        op.drop_table(name)
