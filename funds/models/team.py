"""Teams: the service's teams own grants and work with households and young people."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from funds.models.base import Base


class Team(Base):
    """One of the service's teams (e.g. the young people's team)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    def __repr__(self) -> str:
        return f"<Team {self.name}>"
