"""audit log: every staff action appended to a table nothing may change

The application never updates or deletes an entry, and triggers make the database refuse it too,
so an entry once written stays as written (a restore from backup is the only way back).

Revision ID: 0009_audit
Revises: 0008_pages
Create Date: 2026-11-29 22:20:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0009_audit'
down_revision = '0008_pages'
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor_role', sa.String(length=20), nullable=False),
        sa.Column('actor_expert_id', sa.Integer(), nullable=True),
        sa.Column('actor_token_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=True),
        sa.Column('target', sa.String(length=200), nullable=True),
        sa.Column('detail', JSON, nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_project', 'audit_log', ['project_id', 'id'], unique=False)
    op.create_index('ix_audit_action', 'audit_log', ['action', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'the audit log is append-only'; END;
            $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
                      FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""")
    else:
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"""CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log
                           BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER audit_log_append_only ON audit_log')
        op.execute('DROP FUNCTION audit_log_append_only()')
    op.drop_index('ix_audit_action', table_name='audit_log')
    op.drop_index('ix_audit_project', table_name='audit_log')
    op.drop_table('audit_log')
