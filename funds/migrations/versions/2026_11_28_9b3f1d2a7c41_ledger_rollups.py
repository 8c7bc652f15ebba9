"""ledger rollups: grant balances, month and day totals, awards not yet paid, kept by triggers

Revision ID: 9b3f1d2a7c41
Revises: c59ca5cc8e59
Create Date: 2026-11-28 21:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

from funds.models.rollup_triggers import (
    drop_rollup_statements,
    now_unpaid,
    rollup_statements,
)

# revision identifiers, used by Alembic.
revision = '9b3f1d2a7c41'
down_revision = 'c59ca5cc8e59'
branch_labels = None
depends_on = None

#: The totals of the ledger as it stands, before the triggers keep them from now on.
BACKFILL = [
    "INSERT INTO grant_balances (grant_id, spent_pence, awards, lines,"
    " unpaid_awards, unpaid_pence, held_pence) SELECT g.id,"
    " COALESCE((SELECT SUM(d.amount_pence) FROM disbursements d"
    " WHERE d.grant_id = g.id), 0),"
    " (SELECT COUNT(*) FROM disbursements d WHERE d.grant_id = g.id"
    " AND d.reverses_id IS NULL),"
    " (SELECT COUNT(*) FROM disbursements d WHERE d.grant_id = g.id), 0, 0,"
    " COALESCE((SELECT SUM(b.face_value_pence) FROM vouchers v"
    " JOIN voucher_batches b ON b.id = v.batch_id WHERE b.grant_id = g.id"
    " AND v.status IN ('in-stock', 'expired')), 0) FROM grants g",
    "INSERT INTO ledger_days (grant_id, awarded_on, spent_pence)"
    " SELECT grant_id, awarded_on, SUM(amount_pence)"
    " FROM disbursements GROUP BY grant_id, awarded_on",
    "INSERT INTO unpaid_awards (disbursement_id, grant_id, awarded_on, amount_pence)"
    " SELECT d.id, d.grant_id, d.awarded_on, d.amount_pence FROM disbursements d"
    f" WHERE {now_unpaid('d')}",
    "UPDATE grant_balances SET unpaid_pence = COALESCE((SELECT SUM(u.amount_pence)"
    " FROM unpaid_awards u WHERE u.grant_id = grant_balances.grant_id), 0),"
    " unpaid_awards = (SELECT COUNT(*) FROM unpaid_awards u"
    " WHERE u.grant_id = grant_balances.grant_id)",
]


def upgrade():
    op.create_table('grant_balances',
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('spent_pence', sa.BigInteger(), nullable=False),
    sa.Column('awards', sa.BigInteger(), nullable=False),
    sa.Column('lines', sa.BigInteger(), nullable=False),
    sa.Column('unpaid_awards', sa.BigInteger(), nullable=False),
    sa.Column('unpaid_pence', sa.BigInteger(), nullable=False),
    sa.Column('held_pence', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_grant_balances_grant_id_grants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grant_id', name=op.f('pk_grant_balances'))
    )
    op.create_table('ledger_rollups',
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('item_type_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('spent_pence', sa.BigInteger(), nullable=False),
    sa.Column('awards', sa.BigInteger(), nullable=False),
    sa.Column('lines', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_ledger_rollups_grant_id_grants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_type_id'], ['item_types.id'], name=op.f('fk_ledger_rollups_item_type_id_item_types')),
    sa.PrimaryKeyConstraint('grant_id', 'item_type_id', 'month', name=op.f('pk_ledger_rollups'))
    )
    op.create_table('ledger_days',
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('awarded_on', sa.Date(), nullable=False),
    sa.Column('spent_pence', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_ledger_days_grant_id_grants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grant_id', 'awarded_on', name=op.f('pk_ledger_days'))
    )
    op.create_table('unpaid_awards',
    sa.Column('disbursement_id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('awarded_on', sa.Date(), nullable=False),
    sa.Column('amount_pence', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['disbursement_id'], ['disbursements.id'], name=op.f('fk_unpaid_awards_disbursement_id_disbursements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grant_id'], ['grants.id'], name=op.f('fk_unpaid_awards_grant_id_grants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('disbursement_id', name=op.f('pk_unpaid_awards'))
    )
    with op.batch_alter_table('unpaid_awards', schema=None) as batch_op:
        batch_op.create_index('ix_unpaid_awards_day', ['awarded_on', 'disbursement_id'], unique=False)
        batch_op.create_index('ix_unpaid_awards_grant_day', ['grant_id', 'awarded_on'], unique=False)

    month = {
        "sqlite": "date(awarded_on, 'start of month')",
        "postgresql": "CAST(date_trunc('month', awarded_on) AS date)",
    }[op.get_bind().dialect.name]
    op.execute(
        "INSERT INTO ledger_rollups (grant_id, item_type_id, month, spent_pence,"
        f" awards, lines) SELECT grant_id, item_type_id, {month}, SUM(amount_pence),"
        " SUM(CASE WHEN reverses_id IS NULL THEN 1 ELSE 0 END), COUNT(*)"
        f" FROM disbursements GROUP BY grant_id, item_type_id, {month}"
    )
    for statement in BACKFILL:
        op.execute(statement)
    # A plain CREATE INDEX (never batch mode, which would rebuild the table and lose
    # its append-only triggers on SQLite).
    op.create_index('ix_disbursements_grant_amount', 'disbursements', ['grant_id', 'amount_pence'], unique=False)
    for statement in rollup_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    for statement in drop_rollup_statements(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index('ix_disbursements_grant_amount', table_name='disbursements')
    with op.batch_alter_table('unpaid_awards', schema=None) as batch_op:
        batch_op.drop_index('ix_unpaid_awards_grant_day')
        batch_op.drop_index('ix_unpaid_awards_day')

    op.drop_table('unpaid_awards')
    op.drop_table('ledger_days')
    op.drop_table('ledger_rollups')
    op.drop_table('grant_balances')
