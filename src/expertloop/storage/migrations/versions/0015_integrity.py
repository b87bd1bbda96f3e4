"""integrity: authenticity checks of free-text answers, with their review

One row per submitted judgment that carries free text or writing-process signals: the
aggregates the client recorded per field (never keystrokes), the answer's similarity to the
item's model outputs, the reasons it was flagged, and the due process around a flag (staff
decision with a note, the expert's reply). The instance's Ed25519 signing key needs no table:
it lives in ``instance_secrets`` like the session key.

Revision ID: 0015_integrity
Revises: 0014_model_work
Create Date: 2026-11-29 22:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0015_integrity'
down_revision = '0014_model_work'
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    op.create_table('authenticity_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('signals', JSON, nullable=True),
    sa.Column('similarity', JSON, nullable=True),
    sa.Column('reasons', JSON, nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decided_by', sa.String(length=40), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('expert_reply', sa.Text(), nullable=True),
    sa.Column('replied_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id']),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assignment_id')
    )
    op.create_index('ix_authenticity_project_status', 'authenticity_checks', ['project_id', 'status', 'id'],
                    unique=False)
    op.create_index('ix_authenticity_expert', 'authenticity_checks', ['expert_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_authenticity_expert', table_name='authenticity_checks')
    op.drop_index('ix_authenticity_project_status', table_name='authenticity_checks')
    op.drop_table('authenticity_checks')
