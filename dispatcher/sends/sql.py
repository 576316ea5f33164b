"""Hand-written ledger statements, with their time parameters typed.

The ledger's set-based statements are clearer as SQL than as expression trees.
Their datetime parameters are bound with SQLAlchemy's DateTime type, so SQLite
stores them in the same text form as values the ORM writes, and comparisons
between the two stay correct.
"""

from __future__ import annotations

import re

from sqlalchemy import DateTime, TextClause, bindparam, text

#: Parameter names that always carry a timezone-aware UTC datetime.
DATETIME_PARAMS = frozenset({"now", "lease", "due", "cutoff", "hold"})
_PARAM = re.compile(r"(?<!:):(\w+)")


def sql(statement: str) -> TextClause:
    """A text clause whose datetime parameters are typed."""
    names = set(_PARAM.findall(statement)) & DATETIME_PARAMS
    return text(statement).bindparams(
        *(bindparam(name, type_=DateTime(timezone=True)) for name in sorted(names))
    )
