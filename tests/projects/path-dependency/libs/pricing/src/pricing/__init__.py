"""Prices with tax, shared by the shop's services."""


def with_tax(cents: int, rate: float = 0.2) -> int:
    return round(cents * (1 + rate))
