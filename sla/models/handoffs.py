"""Handoffs of MQLs to sales reps and the routing rules that choose the rep."""

__all__: list[str] = []
