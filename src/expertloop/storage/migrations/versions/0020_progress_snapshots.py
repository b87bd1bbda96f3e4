"""progress snapshots: the item and judgment counts of large projects, kept by the job runner

Counting a project of a million items and a million judgments reads two covering indexes end to
end (0.4 s); pages that show progress read this copy for projects of at least
``services.progress.LARGE_ITEMS`` items instead, with the time it was counted.

``ix_assignments_review_queue`` (state, submitted_at, id): the review queue lists the oldest
submitted work first; with a million submitted judgments it sorted them all for a page of 200.

``ix_assignments_leased`` (project_id, lease_expires_at, item_id) of the leased rows only: the
live-lease counts of the progress bars. Where nearly every row is submitted SQLite's statistics
say no index on ``state`` narrows anything, and it scanned the table (0.4 s at a million).

``ix_items_unjudged`` (project_id) of the items nobody has judged and without gold: what the
forecast has left to do, counted without reading every item row (0.36 s at a million).

Revision ID: 0020_progress_snapshots
Revises: 0019_reset_throttle
Create Date: 2026-11-30 05:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0020_progress_snapshots'
down_revision = '0019_reset_throttle'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    op.create_table('progress_snapshots',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('counts', _json(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id')
    )
    op.create_index('ix_assignments_review_queue', 'assignments', ['state', 'submitted_at', 'id'], unique=False)
    leased = sa.text("state = 'leased'")
    op.create_index('ix_assignments_leased', 'assignments', ['project_id', 'lease_expires_at', 'item_id'],
                    unique=False, sqlite_where=leased, postgresql_where=leased)
    unjudged = sa.text("done_count = 0 AND gold IS NULL")
    op.create_index('ix_items_unjudged', 'items', ['project_id'], unique=False,
                    sqlite_where=unjudged, postgresql_where=unjudged)


def downgrade() -> None:
    op.drop_index('ix_items_unjudged', table_name='items')
    op.drop_index('ix_assignments_leased', table_name='assignments')
    op.drop_index('ix_assignments_review_queue', table_name='assignments')
    op.drop_table('progress_snapshots')
