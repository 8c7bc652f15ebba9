"""All models, imported here so that Alembic autogenerate sees every table."""

from funds.models.activity import ActivitySession, Attendance
from funds.models.audit import AuditEvent
from funds.models.base import Base
from funds.models.disbursement import (
    AccessRoute,
    DeliveryMethod,
    Disbursement,
    DisbursementPayment,
)
from funds.models.evidence import EvidenceFile, EvidenceKind, ScanStatus
from funds.models.finance import ExpectedIncome, FundTransfer, GrantReceipt, PaymentRun
from funds.models.funder import HSF_CATEGORIES, Funder, FunderCategory
from funds.models.funder_return import (
    DefinitionDraft,
    FunderReturn,
    PeriodLock,
    ReturnDefinition,
)
from funds.models.grant import (
    BudgetControl,
    BudgetLine,
    Grant,
    GrantStatus,
    GrantTotalChange,
)
from funds.models.imports import (
    ImportMapping,
    ImportProblem,
    ImportRecord,
    ImportRun,
    ImportStatus,
)
from funds.models.job import Job, JobStatus
from funds.models.login_failure import LoginFailure
from funds.models.organisation import OrganisationSettings
from funds.models.people import Disability, Ethnicity, Gender, Household, YoungPerson
from funds.models.privacy import (
    ErasureLog,
    RecordKind,
    RetentionEvent,
    RetentionHold,
    RetentionRule,
)
from funds.models.rollups import GrantBalance, LedgerDay, LedgerRollup, UnpaidAward
from funds.models.taxonomy import ItemType, ItemTypeMapping, SpendCategory
from funds.models.team import Team
from funds.models.two_factor import RecoveryCode
from funds.models.user import Role, User
from funds.models.voucher import Voucher, VoucherBatch, VoucherStatus

__all__ = [
    "GrantBalance",
    "LedgerDay",
    "LedgerRollup",
    "UnpaidAward",
    "EvidenceFile",
    "EvidenceKind",
    "ScanStatus",
    "ErasureLog",
    "RecordKind",
    "RetentionEvent",
    "RetentionHold",
    "RetentionRule",
    "RecoveryCode",
    "PaymentRun",
    "GrantReceipt",
    "FundTransfer",
    "ExpectedIncome",
    "HSF_CATEGORIES",
    "AccessRoute",
    "ActivitySession",
    "Attendance",
    "AuditEvent",
    "Base",
    "BudgetControl",
    "BudgetLine",
    "DefinitionDraft",
    "DeliveryMethod",
    "Disability",
    "Disbursement",
    "DisbursementPayment",
    "Ethnicity",
    "Funder",
    "FunderCategory",
    "FunderReturn",
    "Gender",
    "Grant",
    "GrantStatus",
    "GrantTotalChange",
    "Household",
    "ItemType",
    "ItemTypeMapping",
    "ImportMapping",
    "ImportProblem",
    "ImportRecord",
    "ImportRun",
    "ImportStatus",
    "Job",
    "JobStatus",
    "LoginFailure",
    "OrganisationSettings",
    "PeriodLock",
    "ReturnDefinition",
    "Role",
    "SpendCategory",
    "Team",
    "User",
    "Voucher",
    "VoucherBatch",
    "VoucherStatus",
    "YoungPerson",
]
