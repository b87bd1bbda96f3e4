"""ledger days: each expert's ledger summed per UTC day and kind, kept by the database

The payroll of a period summed every ledger entry in it: a month of a million paid tasks read a
million rows (8 s). ``ledger_days`` holds, per expert, day and kind, the number of entries, their
amount in cents and their minutes in hundredths (the ledger's minutes are two-decimal text,
``domain.payments.billable_minutes``), kept in step by triggers on ``ledger_entries`` whoever
writes it, like ``project_spend``. A period is whole days, so its payroll sums these rows.

Revision ID: 0021_ledger_days
Revises: 0020_progress_snapshots
Create Date: 2026-11-30 05:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0021_ledger_days'
down_revision = '0020_progress_snapshots'
branch_labels = None
depends_on = None

_SQLITE_ROW = ("NEW.expert_id, date(NEW.created_at), NEW.kind, 1, NEW.amount_cents, "
               "CAST(ROUND(CAST(NEW.minutes AS REAL) * 100) AS INTEGER)")
_SQLITE_UPSERT = ("ON CONFLICT (expert_id, day, kind) DO UPDATE SET entries = entries + excluded.entries, "
                  "amount_cents = amount_cents + excluded.amount_cents, "
                  "minutes_hundredths = minutes_hundredths + excluded.minutes_hundredths")
_SQLITE_TAKE_OLD = """UPDATE ledger_days SET entries = entries - 1, amount_cents = amount_cents - OLD.amount_cents,
            minutes_hundredths = minutes_hundredths - CAST(ROUND(CAST(OLD.minutes AS REAL) * 100) AS INTEGER)
        WHERE expert_id = OLD.expert_id AND day = date(OLD.created_at) AND kind = OLD.kind;"""

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER tr_ledger_days_insert AFTER INSERT ON ledger_entries
    BEGIN
        INSERT INTO ledger_days (expert_id, day, kind, entries, amount_cents, minutes_hundredths)
        VALUES ({_SQLITE_ROW}) {_SQLITE_UPSERT};
    END""",
    f"""CREATE TRIGGER tr_ledger_days_delete AFTER DELETE ON ledger_entries
    BEGIN
        {_SQLITE_TAKE_OLD}
    END""",
    f"""CREATE TRIGGER tr_ledger_days_update AFTER UPDATE OF expert_id, created_at, kind, amount_cents, minutes
    ON ledger_entries
    BEGIN
        {_SQLITE_TAKE_OLD}
        INSERT INTO ledger_days (expert_id, day, kind, entries, amount_cents, minutes_hundredths)
        VALUES ({_SQLITE_ROW}) {_SQLITE_UPSERT};
    END""",
]

POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION expertloop_ledger_days() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            UPDATE ledger_days SET entries = entries - 1, amount_cents = amount_cents - OLD.amount_cents,
                minutes_hundredths = minutes_hundredths - round(OLD.minutes::numeric * 100)::bigint
            WHERE expert_id = OLD.expert_id AND day = OLD.created_at::date AND kind = OLD.kind;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO ledger_days (expert_id, day, kind, entries, amount_cents, minutes_hundredths)
            VALUES (NEW.expert_id, NEW.created_at::date, NEW.kind, 1, NEW.amount_cents,
                    round(NEW.minutes::numeric * 100)::bigint)
            ON CONFLICT (expert_id, day, kind) DO UPDATE SET entries = ledger_days.entries + 1,
                amount_cents = ledger_days.amount_cents + EXCLUDED.amount_cents,
                minutes_hundredths = ledger_days.minutes_hundredths + EXCLUDED.minutes_hundredths;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER tr_ledger_days AFTER INSERT OR DELETE OR UPDATE OF expert_id, created_at, kind,
    amount_cents, minutes ON ledger_entries FOR EACH ROW EXECUTE FUNCTION expertloop_ledger_days()""",
]


def upgrade() -> None:
    op.create_table(
        'ledger_days',
        sa.Column('expert_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('entries', sa.Integer(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('minutes_hundredths', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['expert_id'], ['experts.id']),
        sa.PrimaryKeyConstraint('expert_id', 'day', 'kind'),
    )
    op.create_index('ix_ledger_days_day', 'ledger_days', ['day', 'expert_id'], unique=False)
    postgresql = op.get_bind().dialect.name == "postgresql"
    day, minutes = (("created_at::date", "round(minutes::numeric * 100)::bigint") if postgresql else
                    ("date(created_at)", "CAST(ROUND(CAST(minutes AS REAL) * 100) AS INTEGER)"))
    op.execute(f"INSERT INTO ledger_days (expert_id, day, kind, entries, amount_cents, minutes_hundredths) "
               f"SELECT expert_id, {day}, kind, count(*), sum(amount_cents), sum({minutes}) "
               f"FROM ledger_entries GROUP BY expert_id, {day}, kind")
    for ddl in POSTGRESQL_TRIGGERS if postgresql else SQLITE_TRIGGERS:
        op.execute(ddl)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tr_ledger_days ON ledger_entries")
        op.execute("DROP FUNCTION expertloop_ledger_days()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER tr_ledger_days_{name}")
    op.drop_index('ix_ledger_days_day', table_name='ledger_days')
    op.drop_table('ledger_days')
