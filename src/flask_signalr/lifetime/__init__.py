"""Lifetime managers: who is connected, in which groups, and how a message reaches them."""
