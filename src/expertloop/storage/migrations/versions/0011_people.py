"""people: pay periods, sampled and leased reviews, blind re-tests, gold disputes

* ``pay_periods``: named date ranges a payroll is run for; closed periods take no adjustments.
* ``review_tasks``: work sampled for level-1 review and reviews sampled for level 2, leased to
  reviewers like tasks to trainers.
* ``assignments.retest_of``: a blind re-test points at the expert's earlier judgment.
* ``projects.review_sampling``, ``projects.retest_rate``, ``projects.retest_after_hours``.
* ``gold_disputes``: an expert's dispute of a gold answer and the adjudicator's decision.

Revision ID: 0011_people
Revises: 0010_models
Create Date: 2026-11-29 22:10:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0011_people'
down_revision = '0010_models'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_sampling', _json(), nullable=True))
        batch_op.add_column(sa.Column('retest_rate', sa.Float(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('retest_after_hours', sa.Integer(), server_default='24', nullable=False))
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retest_of', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_assignments_retest_of', 'assignments', ['retest_of'], ['id'])
        batch_op.create_index('ix_assignments_retest_of', ['retest_of'], unique=False)
    op.create_table('pay_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'))
    op.create_table('review_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('leased_at', sa.DateTime(), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(), nullable=True),
    sa.Column('verdict', sa.String(length=20), nullable=True),
    sa.Column('feedback', sa.Text(), nullable=True),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['experts.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assignment_id', 'level', name='uq_review_tasks_assignment_level'))
    op.create_index('ix_review_tasks_queue', 'review_tasks', ['state', 'project_id', 'id'], unique=False)
    op.create_table('gold_disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('old_gold', _json(), nullable=True),
    sa.Column('new_gold', _json(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=40), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id']),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assignment_id'))
    op.create_index('ix_gold_disputes_state', 'gold_disputes', ['state', 'project_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_gold_disputes_state', table_name='gold_disputes')
    op.drop_table('gold_disputes')
    op.drop_index('ix_review_tasks_queue', table_name='review_tasks')
    op.drop_table('review_tasks')
    op.drop_table('pay_periods')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_retest_of')
        batch_op.drop_constraint('fk_assignments_retest_of', type_='foreignkey')
        batch_op.drop_column('retest_of')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('retest_after_hours')
        batch_op.drop_column('retest_rate')
        batch_op.drop_column('review_sampling')
