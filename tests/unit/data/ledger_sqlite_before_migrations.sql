-- The SQLite schema Base.metadata.create_all made before the ledger had migrations (commit 9980f6f): what an
-- existing var/ledger.sqlite3 holds. Its constraints are unnamed, unlike PostgreSQL's (tests/unit/test_ledger_migrations.py).
CREATE TABLE borrowers (
	borrower_id VARCHAR(32) NOT NULL, 
	full_name VARCHAR(100) NOT NULL, 
	honorific VARCHAR(4) NOT NULL, 
	id_number_masked VARCHAR(18) NOT NULL, 
	date_of_birth DATE NOT NULL, 
	phone VARCHAR(32) NOT NULL, 
	timezone VARCHAR(64) NOT NULL, 
	language VARCHAR(2) NOT NULL, 
	collection_paused BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (borrower_id), 
	CONSTRAINT ck_honorific_allowed CHECK (honorific IN ('先生', '女士', '')), 
	CONSTRAINT ck_language_allowed CHECK (language IN ('zh', 'en'))
);
CREATE TABLE audit_records (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	conversation_id VARCHAR(64) NOT NULL, 
	borrower_id VARCHAR(32), 
	channel VARCHAR(32) NOT NULL, 
	speaker VARCHAR(16) NOT NULL, 
	text TEXT NOT NULL, 
	allowed BOOLEAN, 
	rules TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	record_hash VARCHAR(64) NOT NULL, 
	CONSTRAINT ck_speaker_allowed CHECK (speaker IN ('bot', 'borrower', 'agent')), 
	UNIQUE (prev_hash), 
	UNIQUE (record_hash)
);
CREATE INDEX ix_audit_records_conversation_id ON audit_records (conversation_id);
CREATE INDEX ix_audit_records_created_at ON audit_records (created_at);
CREATE TABLE audit_checkpoints (
	id INTEGER NOT NULL, 
	last_purged_id BIGINT NOT NULL, 
	anchor_hash VARCHAR(64) NOT NULL, 
	purged_count INTEGER NOT NULL, 
	cutoff DATETIME NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE console_agents (
	name VARCHAR(64) NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	password_hash VARCHAR(256) NOT NULL, 
	active BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (name), 
	CONSTRAINT ck_role_allowed CHECK (role IN ('agent', 'supervisor'))
);
CREATE TABLE borrower_phones (
	borrower_id VARCHAR(32) NOT NULL, 
	e164 VARCHAR(20), 
	PRIMARY KEY (borrower_id), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE INDEX ix_borrower_phones_e164 ON borrower_phones (e164);
CREATE TABLE loan_accounts (
	account_id VARCHAR(32) NOT NULL, 
	borrower_id VARCHAR(32) NOT NULL, 
	lender_name VARCHAR(100) NOT NULL, 
	product VARCHAR(100) NOT NULL, 
	principal_cents BIGINT NOT NULL, 
	interest_cents BIGINT NOT NULL, 
	fees_cents BIGINT NOT NULL, 
	currency VARCHAR(3) NOT NULL, 
	due_date DATE NOT NULL, 
	days_past_due INTEGER NOT NULL, 
	risk_tier VARCHAR(1) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	PRIMARY KEY (account_id), 
	CONSTRAINT ck_risk_tier_allowed CHECK (risk_tier IN ('A', 'B', 'C', 'D')), 
	CONSTRAINT ck_status_allowed CHECK (status IN ('collecting', 'paused', 'settled')), 
	CONSTRAINT ck_money_not_negative CHECK (principal_cents >= 0 AND interest_cents >= 0 AND fees_cents >= 0), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE INDEX ix_loan_accounts_borrower_id ON loan_accounts (borrower_id);
CREATE TABLE callback_requests (
	id INTEGER NOT NULL, 
	borrower_id VARCHAR(32) NOT NULL, 
	conversation_id VARCHAR(64) NOT NULL, 
	callback_at DATETIME NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE INDEX ix_callback_requests_borrower_id ON callback_requests (borrower_id);
CREATE TABLE do_not_contact (
	borrower_id VARCHAR(32) NOT NULL, 
	reason TEXT NOT NULL, 
	source VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (borrower_id), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE TABLE handoff_requests (
	id INTEGER NOT NULL, 
	conversation_id VARCHAR(64) NOT NULL, 
	borrower_id VARCHAR(32), 
	reason VARCHAR(64) NOT NULL, 
	priority INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_handoff_once UNIQUE (conversation_id, reason), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE INDEX ix_handoff_requests_conversation_id ON handoff_requests (conversation_id);
CREATE TABLE contact_attempts (
	id INTEGER NOT NULL, 
	borrower_id VARCHAR(32) NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	conversation_id VARCHAR(64) NOT NULL, 
	outcome VARCHAR(32) NOT NULL, 
	reason TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE INDEX ix_contact_attempts_created_at ON contact_attempts (created_at);
CREATE INDEX ix_contact_attempts_borrower_id ON contact_attempts (borrower_id);
CREATE TABLE conversations (
	conversation_id VARCHAR(64) NOT NULL, 
	borrower_id VARCHAR(32), 
	channel VARCHAR(32) NOT NULL, 
	started_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	identity_verified BOOLEAN NOT NULL, 
	outcome VARCHAR(64), 
	summary TEXT, 
	PRIMARY KEY (conversation_id), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE TABLE identity_checks (
	id INTEGER NOT NULL, 
	borrower_id VARCHAR(32) NOT NULL, 
	conversation_id VARCHAR(64) NOT NULL, 
	channel VARCHAR(32) NOT NULL, 
	method VARCHAR(16) NOT NULL, 
	result VARCHAR(16) NOT NULL, 
	checked_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_method_allowed CHECK (method IN ('id_last4', 'date_of_birth')), 
	CONSTRAINT ck_result_allowed CHECK (result IN ('passed', 'failed', 'locked_out')), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE INDEX ix_identity_checks_borrower_time ON identity_checks (borrower_id, checked_at);
CREATE INDEX ix_identity_checks_conversation_id ON identity_checks (conversation_id);
CREATE TABLE verification_unlocks (
	id INTEGER NOT NULL, 
	borrower_id VARCHAR(32) NOT NULL, 
	unlocked_by VARCHAR(64) NOT NULL, 
	unlocked_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE INDEX ix_verification_unlocks_borrower_id ON verification_unlocks (borrower_id);
CREATE TABLE review_requests (
	id INTEGER NOT NULL, 
	conversation_id VARCHAR(64) NOT NULL, 
	borrower_id VARCHAR(32), 
	channel VARCHAR(32) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	said TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	reviewed_at DATETIME, 
	reviewed_by VARCHAR(64), 
	PRIMARY KEY (id), 
	CONSTRAINT ck_kind_allowed CHECK (kind IN ('distress', 'do_not_contact', 'dispute')), 
	CONSTRAINT ck_status_allowed CHECK (status IN ('pending', 'applied', 'dismissed')), 
	CONSTRAINT uq_review_request_once UNIQUE (conversation_id, kind), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE INDEX ix_review_requests_status ON review_requests (status);
CREATE INDEX ix_review_requests_borrower_id ON review_requests (borrower_id);
CREATE TABLE borrower_flags (
	id INTEGER NOT NULL, 
	borrower_id VARCHAR(32) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	reason TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	cleared_at DATETIME, 
	cleared_by VARCHAR(64), 
	PRIMARY KEY (id), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id)
);
CREATE INDEX ix_borrower_flags_borrower_id ON borrower_flags (borrower_id);
CREATE UNIQUE INDEX uq_borrower_flag_active ON borrower_flags (borrower_id, kind) WHERE cleared_at IS NULL;
CREATE TABLE instalment_plans (
	id INTEGER NOT NULL, 
	account_id VARCHAR(32) NOT NULL, 
	conversation_id VARCHAR(64) NOT NULL, 
	periods INTEGER NOT NULL, 
	fee_cents BIGINT NOT NULL, 
	total_cents BIGINT NOT NULL, 
	hardship BOOLEAN NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_status_allowed CHECK (status IN ('proposed', 'accepted', 'cancelled')), 
	FOREIGN KEY(account_id) REFERENCES loan_accounts (account_id)
);
CREATE INDEX ix_instalment_plans_account_id ON instalment_plans (account_id);
CREATE INDEX ix_instalment_plans_conversation_id ON instalment_plans (conversation_id);
CREATE TABLE promises_to_pay (
	id INTEGER NOT NULL, 
	account_id VARCHAR(32) NOT NULL, 
	conversation_id VARCHAR(64) NOT NULL, 
	amount_cents BIGINT NOT NULL, 
	promised_date DATE NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_promise_once UNIQUE (account_id, conversation_id, amount_cents, promised_date), 
	CONSTRAINT ck_promise_positive CHECK (amount_cents > 0), 
	FOREIGN KEY(account_id) REFERENCES loan_accounts (account_id)
);
CREATE INDEX ix_promises_to_pay_account_id ON promises_to_pay (account_id);
CREATE TABLE claims (
	id INTEGER NOT NULL, 
	borrower_id VARCHAR(32) NOT NULL, 
	account_id VARCHAR(32), 
	conversation_id VARCHAR(64) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	detail TEXT NOT NULL, 
	amount_cents BIGINT, 
	claimed_date DATE, 
	decision TEXT, 
	status VARCHAR(16) NOT NULL, 
	idempotency_key VARCHAR(255) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_kind_allowed CHECK (kind IN ('dispute', 'paid', 'hardship', 'extension', 'fee_waiver')), 
	CONSTRAINT uq_claim_once UNIQUE (idempotency_key), 
	FOREIGN KEY(borrower_id) REFERENCES borrowers (borrower_id), 
	FOREIGN KEY(account_id) REFERENCES loan_accounts (account_id)
);
CREATE INDEX ix_claims_borrower_id ON claims (borrower_id);
CREATE TABLE instalment_plan_items (
	plan_id INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	due_date DATE NOT NULL, 
	amount_cents BIGINT NOT NULL, 
	PRIMARY KEY (plan_id, seq), 
	FOREIGN KEY(plan_id) REFERENCES instalment_plans (id)
);
