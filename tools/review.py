"""Reading a high-risk call's review context from the business system (``Domain.review``).

The provider reads in a session that is always rolled back: showing a reviewer the facts, or
pre-checking an edit, never changes anything. A provider that fails (a missing record, a
database hiccup) yields a context that says so instead of failing the page or the decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from tools.domain import ReviewContext, ReviewProvider, RuleCheck
from tools.errors import ToolError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


class ReviewUnavailable(Exception):
    """The review context could not be read; ``str()`` says why, for the reviewer."""


def read_review_context(
    sessions: sessionmaker[Session], provider: ReviewProvider, tenant_id: str, args: BaseModel
) -> ReviewContext:
    """The provider's context for ``args``, read in a transaction that is rolled back."""
    with sessions() as session:
        try:
            return provider(session, tenant_id, args)
        except ToolError as exc:  # e.g. the order does not exist: the reviewer should know
            raise ReviewUnavailable(exc.message) from None
        except Exception as exc:
            raise ReviewUnavailable(f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}") from None
        finally:
            session.rollback()


def blocking_failures(context: ReviewContext) -> list[RuleCheck]:
    """The rules the call breaks that make the tool refuse it."""
    return [c for c in context.checks if c.blocking and not c.passed]
