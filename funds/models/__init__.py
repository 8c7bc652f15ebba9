"""All models, imported here so that Alembic autogenerate sees every table."""

from funds.models.audit import AuditEvent
from funds.models.base import Base
from funds.models.login_failure import LoginFailure
from funds.models.user import Role, User

__all__ = ["AuditEvent", "Base", "LoginFailure", "Role", "User"]
