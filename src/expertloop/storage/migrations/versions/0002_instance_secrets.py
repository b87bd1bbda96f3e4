"""instance secrets (the key that signs web session cookies)

Revision ID: 0002_instance_secrets
Revises: 0001
Create Date: 2026-11-21 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_instance_secrets'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('instance_secrets',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('instance_secrets')
