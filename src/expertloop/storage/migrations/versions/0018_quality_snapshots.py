"""quality snapshots: a project's quality report as a job last computed it

The report reads every judgment of a project, so requests read this stored copy (with what it
covered) instead of computing it; ``refresh_quality`` and ``refit_consensus`` jobs write it.

``ix_items_progress`` gains ``retired_at`` and ``generation``: the progress counts read both
since items could be retired and generated, so the index no longer covered them and every
progress count read every item row (payload included).

Revision ID: 0018_quality_snapshots
Revises: 0017_chat
Create Date: 2026-11-30 01:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0018_quality_snapshots'
down_revision = '0017_chat'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    op.drop_index('ix_items_progress', table_name='items')
    op.create_index('ix_items_progress', 'items',
                    ['project_id', 'done_count', 'target_overlap', 'retired_at', 'generation'], unique=False)
    op.create_table('quality_snapshots',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('report', _json(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('judgments', sa.Integer(), nullable=False),
    sa.Column('last_assignment_id', sa.Integer(), nullable=True),
    sa.Column('last_reviewed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id')
    )


def downgrade() -> None:
    op.drop_table('quality_snapshots')
    op.drop_index('ix_items_progress', table_name='items')
    op.create_index('ix_items_progress', 'items', ['project_id', 'done_count', 'target_overlap'], unique=False)
