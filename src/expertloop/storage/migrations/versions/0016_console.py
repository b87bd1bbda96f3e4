"""console: project lifecycle, guideline versions, retired items, account links, ended sessions

* ``projects.status`` — ``draft → live → paused → closed → archived``; existing projects are
  live (the server default), so nothing changes for them.
* ``guideline_versions`` — the text of every published guidelines version, so a trainer can be
  shown what changed since the version of their last task.
* ``items.retired_at`` — a retired item is kept for the record but leased to nobody and left out
  of exports.
* ``account_links`` — single-use invitation and password-reset links, stored as a SHA-256 hash
  of the secret in the link (like tokens), with an expiry and the time they were used.
* ``experts.sessions_revoked_at`` — browser sessions of the expert signed in before this time
  have ended (set when their tokens are revoked from the console).

Revision ID: 0016_console
Revises: 0015_integrity
Create Date: 2026-11-29 22:30:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0016_console'
down_revision = '0015_integrity'
branch_labels = None
depends_on = None


def _json():
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('projects') as batch:
        batch.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='live'))
    with op.batch_alter_table('items') as batch:
        batch.add_column(sa.Column('retired_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('experts') as batch:
        batch.add_column(sa.Column('sessions_revoked_at', sa.DateTime(), nullable=True))
    op.create_table(
        'guideline_versions',
        sa.Column('project_id', sa.Integer(), sa.ForeignKey('projects.id', ondelete='CASCADE'), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'version'),
    )
    op.create_table(
        'account_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=True),
        sa.Column('expert_id', sa.Integer(), sa.ForeignKey('experts.id'), nullable=True),
        sa.Column('profile', _json(), nullable=True),
        sa.Column('created_by', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )


def downgrade() -> None:
    op.drop_table('account_links')
    op.drop_table('guideline_versions')
    with op.batch_alter_table('experts') as batch:
        batch.drop_column('sessions_revoked_at')
    with op.batch_alter_table('items') as batch:
        batch.drop_column('retired_at')
    with op.batch_alter_table('projects') as batch:
        batch.drop_column('status')
