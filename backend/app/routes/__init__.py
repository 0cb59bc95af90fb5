"""The service's routes by topic: ``health`` (health, models), ``embedding`` (estimate, embed, jobs), ``uploads``
and ``queries`` (search, classify, count, similar)."""
