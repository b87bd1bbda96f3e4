"""reset throttle: "forgot password" requests counted per email and per client address

``reset_requests`` holds one row per key (a SHA-256 of ``email:…`` or ``client:…``) and
request, so the limit holds across workers and machines. Rows older than a day are pruned as
new requests arrive.

Revision ID: 0019_reset_throttle
Revises: 0018_quality_snapshots
Create Date: 2026-11-30 02:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_reset_throttle'
down_revision = '0018_quality_snapshots'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reset_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_reset_requests_key', 'reset_requests', ['key', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reset_requests_key', table_name='reset_requests')
    op.drop_table('reset_requests')
