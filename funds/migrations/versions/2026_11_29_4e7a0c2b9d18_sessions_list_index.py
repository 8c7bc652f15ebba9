"""sessions list index: activity sessions newest first across every grant

Revision ID: 4e7a0c2b9d18
Revises: 9b3f1d2a7c41
Create Date: 2026-11-29 01:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '4e7a0c2b9d18'
down_revision = '9b3f1d2a7c41'
branch_labels = None
depends_on = None


def upgrade():
    # Plain CREATE INDEX: batch mode would rebuild the table on SQLite.
    op.create_index(
        "ix_activity_sessions_held_on_id", "activity_sessions", ["held_on", "id"]
    )


def downgrade():
    op.drop_index("ix_activity_sessions_held_on_id", table_name="activity_sessions")
