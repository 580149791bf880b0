"""Alembic's entry point for the ledger's migrations. Run through ledger.schema (python -m ledger migrate,
python -m ledger revision, or any process's start), which hands over a connection already inside a transaction
and holding the schema lock: there is no alembic.ini and no offline (SQL script) mode."""

from alembic import context

from ledger.models import Base, UtcDateTime

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the ledger's migrations with `python -m ledger migrate`")


def _render_item(type_: str, obj, _autogen_context):
    # The column type as the database sees it, so a migration never imports the models it predates.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it; batch operations do that there and plain ALTERs on PostgreSQL.
    render_as_batch=True,
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
