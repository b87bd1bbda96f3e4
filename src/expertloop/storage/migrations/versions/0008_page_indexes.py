"""page indexes: the manager's project page reads its aggregates from covering indexes

The project page sums a project's judged work per trainer, state and day, its ledger per
trainer and day, and counts its judgments. With indexes on ``(project_id, state)`` and
``(project_id)`` alone every one of those sums visited each row of the table as well; at 100k
judgments that was most of the page's time. Each index below holds every column its queries
read, so the database answers from the index alone:

* ``ix_assignments_project_work`` (project, state, trainer, submitted at, consent, active
  seconds) replaces ``ix_assignments_project_state``, its prefix, so a write still maintains
  one index here;
* ``ix_ledger_project_pay`` (project, trainer, created at, amount) replaces
  ``ix_ledger_project`` likewise; the budget check's sum of a project's spend reads it too.

No ``ANALYZE`` here: SQLite's statistics record only the average rows per key prefix, so after
one on a project whose assignments are nearly all submitted it would judge
``(project_id, state = 'leased')`` unselective and count live leases by scanning the table.

Revision ID: 0008_pages
Revises: 0007_claim
Create Date: 2026-11-29 21:00:00
"""
from alembic import op

revision = '0008_pages'
down_revision = '0007_claim'
branch_labels = None
depends_on = None

WORK = ['project_id', 'state', 'expert_id', 'submitted_at', 'consent_id', 'active_seconds']
PAY = ['project_id', 'expert_id', 'created_at', 'amount_cents']


def upgrade() -> None:
    op.create_index('ix_assignments_project_work', 'assignments', WORK, unique=False)
    op.drop_index('ix_assignments_project_state', table_name='assignments')
    op.create_index('ix_ledger_project_pay', 'ledger_entries', PAY, unique=False)
    op.drop_index('ix_ledger_project', table_name='ledger_entries')


def downgrade() -> None:
    op.create_index('ix_ledger_project', 'ledger_entries', ['project_id'], unique=False)
    op.drop_index('ix_ledger_project_pay', table_name='ledger_entries')
    op.create_index('ix_assignments_project_state', 'assignments', ['project_id', 'state'], unique=False)
    op.drop_index('ix_assignments_project_work', table_name='assignments')
