"""chat: a trainer's work in progress kept by the server, and AI help on the record

``assignments.draft`` holds a live chat's conversation while the trainer works (candidates,
choices, rewrites, pending model calls), so it survives a reload; ``assignments.ai_assistance``
what an AI suggestion showed the trainer (text, model, time) and what they did with it.
``ai_suggestions`` holds one suggestion per item, generated ahead by a job.

Revision ID: 0017_chat
Revises: 0016_console
Create Date: 2026-11-29 23:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0017_chat'
down_revision = '0016_console'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('assignments') as batch:
        batch.add_column(sa.Column('draft', _json(), nullable=True))
        batch.add_column(sa.Column('ai_assistance', _json(), nullable=True))
    op.create_table('ai_suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('content', _json(), nullable=False),
    sa.Column('provenance', _json(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id')
    )
    op.create_index('ix_ai_suggestions_project', 'ai_suggestions', ['project_id', 'item_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ai_suggestions_project', table_name='ai_suggestions')
    op.drop_table('ai_suggestions')
    with op.batch_alter_table('assignments') as batch:
        batch.drop_column('ai_assistance')
        batch.drop_column('draft')
