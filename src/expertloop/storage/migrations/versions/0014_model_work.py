"""model work: candidate generation, claim splitting, model judges and judge-first screening

``projects.models`` holds a project's model settings (``candidates``, ``claims``,
``judge_first``). ``items.generation`` says what an item waits for before experts may lease
it (its ``target_overlap`` is 0 meanwhile): ``pending`` (candidate answers or claims),
``failed`` (a model refused), ``screening`` (the judge-first judge), ``judged`` (settled by the
judge); NULL for an item open for experts. ``model_judgments`` holds a model's answers as a
judge (one row per item, model and order of presentation), kept apart from expert judgments:
never in consensus, never paid.

Revision ID: 0014_model_work
Revises: 0013_serve
Create Date: 2026-11-29 22:45:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0014_model_work'
down_revision = '0013_serve'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    op.create_table('model_judgments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('order', sa.String(length=8), nullable=False),
    sa.Column('answer', sa.String(length=200), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('generation', _json(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('item_id', 'model', 'order', name='uq_model_judgments_item_model_order')
    )
    op.create_index('ix_model_judgments_project', 'model_judgments', ['project_id', 'model'], unique=False)
    op.add_column('projects', sa.Column('models', _json(), nullable=True))
    op.add_column('items', sa.Column('generation', sa.String(length=20), nullable=True))
    op.create_index('ix_items_generation', 'items', ['project_id', 'generation'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_items_generation', table_name='items')
    with op.batch_alter_table('items') as batch:
        batch.drop_column('generation')
    with op.batch_alter_table('projects') as batch:
        batch.drop_column('models')
    op.drop_index('ix_model_judgments_project', table_name='model_judgments')
    op.drop_table('model_judgments')
