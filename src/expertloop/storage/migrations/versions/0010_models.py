"""models: OpenAI-compatible endpoints and a record of every call made to them

``model_endpoints`` holds where to call a model and the NAME of the environment variable with
its key (the key is read at call time and never stored); ``model_calls`` one row per call
(after its retries): purpose, project and job, parameters, tokens, latency, outcome.

Revision ID: 0010_models
Revises: 0009_audit
Create Date: 2026-11-29 22:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0010_models'
down_revision = '0009_audit'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    op.create_table('model_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('api_key_env', sa.String(length=128), nullable=True),
    sa.Column('max_concurrency', sa.Integer(), nullable=False),
    sa.Column('timeout_s', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('model_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('params', _json(), nullable=True),
    sa.Column('tokens_in', sa.Integer(), nullable=True),
    sa.Column('tokens_out', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['model_endpoints.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_model_calls_endpoint', 'model_calls', ['endpoint_id', 'id'], unique=False)
    op.create_index('ix_model_calls_project', 'model_calls', ['project_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_model_calls_project', table_name='model_calls')
    op.drop_index('ix_model_calls_endpoint', table_name='model_calls')
    op.drop_table('model_calls')
    op.drop_table('model_endpoints')
