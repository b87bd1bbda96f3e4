"""claim index: items in claim order (project, priority descending, id), open items only

The claim asks for a project's open items (fewer judgments than their target) by priority,
highest first, then oldest. ``ix_items_queue`` orders priority ascending, so the database had
to read every item of the project and sort; this index hands the claim its first candidate
directly, and leaves finished items out so a nearly done project is as quick as a new one.

Revision ID: 0007_claim
Revises: 0006_trust
Create Date: 2026-11-29 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_claim'
down_revision = '0006_trust'
branch_labels = None
depends_on = None

OPEN = sa.text("done_count < target_overlap")


def upgrade() -> None:
    op.create_index('ix_items_claim', 'items', ['project_id', sa.text('priority DESC'), 'id'], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)
    if op.get_bind().dialect.name in ("postgresql", "sqlite"):  # let the planner see the new index
        op.execute("ANALYZE items")


def downgrade() -> None:
    op.drop_index('ix_items_claim', table_name='items')
