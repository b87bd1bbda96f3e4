"""experiments: arms compared inside a project, the arm of every randomised unit and assignment

``experiments`` holds a project's experiments (unit of randomisation, arms, seed, status);
``experiment_units`` the arm each randomised unit (a trainer or an item) got, fixed when it was
first leased work; ``assignments.experiment_id`` / ``experiment_arm`` record that arm on every
assignment made while the experiment runs, so reports and exports never recompute it.

Revision ID: 0012_experiments
Revises: 0011_people
Create Date: 2026-11-29 23:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0012_experiments'
down_revision = '0011_people'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    op.create_table('experiments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('arms', _json(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('stopped_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_experiments_project', 'experiments', ['project_id', 'status'], unique=False)
    op.create_table('experiment_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('stratum', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('arm', sa.String(length=60), nullable=False),
    sa.Column('assigned_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('experiment_id', 'unit_id', name='uq_experiment_units_unit')
    )
    op.create_index('ix_experiment_units_stratum', 'experiment_units', ['experiment_id', 'stratum'], unique=False)
    op.add_column('assignments', sa.Column('experiment_id', sa.Integer(), nullable=True))
    op.add_column('assignments', sa.Column('experiment_arm', sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assignments') as batch:
        batch.drop_column('experiment_arm')
        batch.drop_column('experiment_id')
    op.drop_index('ix_experiment_units_stratum', table_name='experiment_units')
    op.drop_table('experiment_units')
    op.drop_index('ix_experiments_project', table_name='experiments')
    op.drop_table('experiments')
