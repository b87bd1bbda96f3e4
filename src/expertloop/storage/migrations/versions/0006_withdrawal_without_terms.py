"""withdrawal without terms: a consent row may record a withdrawal nobody agreed to terms for

A withdrawal in a project without terms (or by an expert whose work predates the terms) is
recorded as a consent row with no terms version and no agreement time.

Revision ID: 0006_trust
Revises: 0005_jobs
Create Date: 2026-11-29 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_trust'
down_revision = '0005_jobs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.alter_column('terms_version', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('agreed_at', existing_type=sa.DateTime(), nullable=True)


def downgrade() -> None:
    # Rows recorded without terms keep their withdrawal under version 0, "agreed" when withdrawn.
    op.execute("UPDATE consents SET terms_version = 0 WHERE terms_version IS NULL")
    op.execute("UPDATE consents SET agreed_at = withdrawn_at WHERE agreed_at IS NULL")
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.alter_column('agreed_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column('terms_version', existing_type=sa.Integer(), nullable=False)
