"""consent: project terms with versions, experts' consents, the consent behind each assignment

Revision ID: 0004_consent
Revises: 0003
Create Date: 2026-11-21 17:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_consent'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('terms_version', sa.Integer(), nullable=False),
    sa.Column('agreed_at', sa.DateTime(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['expert_id'], ['experts.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_consents_project_expert', 'consents', ['project_id', 'expert_id'], unique=False)
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terms', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('terms_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_assignments_consent_id', 'consents', ['consent_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_assignments_consent_id', type_='foreignkey')
        batch_op.drop_column('consent_id')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('terms_version')
        batch_op.drop_column('terms')
    op.drop_index('ix_consents_project_expert', table_name='consents')
    op.drop_table('consents')
