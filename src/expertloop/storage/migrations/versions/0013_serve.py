"""serving at scale: a project's spend kept by the database, progress counted from an index

* ``project_spend`` holds each project's spend (the sum of its ledger's amounts), kept in step
  by triggers on ``ledger_entries`` whoever writes the ledger (a submit, a pay adjustment, a
  bulk load). The budget check runs on every lease of a project with a budget; summing the
  ledger there grew with the project (a million judgments: a million index entries per lease).
* ``ix_items_progress`` (project, done, target) covers the progress counts (items, complete,
  judgments needed), so they read the index alone instead of every item row.

Revision ID: 0013_serve
Revises: 0012_experiments
Create Date: 2026-11-29 23:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_serve'
down_revision = '0012_experiments'
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    """CREATE TRIGGER tr_ledger_spend_insert AFTER INSERT ON ledger_entries
    WHEN NEW.project_id IS NOT NULL
    BEGIN
        INSERT INTO project_spend (project_id, spent_cents) VALUES (NEW.project_id, NEW.amount_cents)
        ON CONFLICT (project_id) DO UPDATE SET spent_cents = spent_cents + excluded.spent_cents;
    END""",
    """CREATE TRIGGER tr_ledger_spend_delete AFTER DELETE ON ledger_entries
    WHEN OLD.project_id IS NOT NULL
    BEGIN
        UPDATE project_spend SET spent_cents = spent_cents - OLD.amount_cents WHERE project_id = OLD.project_id;
    END""",
    """CREATE TRIGGER tr_ledger_spend_update AFTER UPDATE OF project_id, amount_cents ON ledger_entries
    BEGIN
        UPDATE project_spend SET spent_cents = spent_cents - OLD.amount_cents WHERE project_id = OLD.project_id;
        INSERT INTO project_spend (project_id, spent_cents)
        SELECT NEW.project_id, NEW.amount_cents WHERE NEW.project_id IS NOT NULL
        ON CONFLICT (project_id) DO UPDATE SET spent_cents = spent_cents + excluded.spent_cents;
    END""",
]

POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION expertloop_ledger_spend() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.project_id IS NOT NULL THEN
            UPDATE project_spend SET spent_cents = spent_cents - OLD.amount_cents
            WHERE project_id = OLD.project_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.project_id IS NOT NULL THEN
            INSERT INTO project_spend (project_id, spent_cents) VALUES (NEW.project_id, NEW.amount_cents)
            ON CONFLICT (project_id) DO UPDATE SET spent_cents = project_spend.spent_cents + EXCLUDED.spent_cents;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER tr_ledger_spend AFTER INSERT OR DELETE OR UPDATE OF project_id, amount_cents
    ON ledger_entries FOR EACH ROW EXECUTE FUNCTION expertloop_ledger_spend()""",
]


def upgrade() -> None:
    op.create_table(
        'project_spend',
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('spent_cents', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('project_id'),
    )
    op.execute("INSERT INTO project_spend (project_id, spent_cents) SELECT project_id, sum(amount_cents) "
               "FROM ledger_entries WHERE project_id IS NOT NULL GROUP BY project_id")
    for ddl in POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(ddl)
    op.create_index('ix_items_progress', 'items', ['project_id', 'done_count', 'target_overlap'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_items_progress', table_name='items')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tr_ledger_spend ON ledger_entries")
        op.execute("DROP FUNCTION expertloop_ledger_spend()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER tr_ledger_spend_{name}")
    op.drop_table('project_spend')
