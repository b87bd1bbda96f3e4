"""jobs: work run outside requests by workers; consensus_fits: the stored consensus per project

Revision ID: 0005_jobs
Revises: 0004_consent
Create Date: 2026-11-29 20:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005_jobs'
down_revision = '0004_consent'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('payload', _json(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', sa.DateTime(), nullable=False),
    sa.Column('locked_by', sa.String(length=120), nullable=True),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('progress', _json(), nullable=True),
    sa.Column('result', _json(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    op.create_index('ix_jobs_claim', 'jobs', ['state', 'run_after'], unique=False)
    op.create_index('ix_jobs_project', 'jobs', ['project_id', 'id'], unique=False)
    op.create_table('consensus_fits',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('task_type', sa.String(length=20), nullable=False),
    sa.Column('judgments', sa.Integer(), nullable=False),
    sa.Column('last_assignment_id', sa.Integer(), nullable=True),
    sa.Column('fitted_at', sa.DateTime(), nullable=False),
    sa.Column('trainer_model', sa.LargeBinary(), nullable=False),
    sa.Column('item_posteriors', sa.LargeBinary(), nullable=False),
    sa.Column('quality_report', _json(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id')
    )


def downgrade() -> None:
    op.drop_table('consensus_fits')
    op.drop_index('ix_jobs_project', table_name='jobs')
    op.drop_index('ix_jobs_claim', table_name='jobs')
    op.drop_table('jobs')
