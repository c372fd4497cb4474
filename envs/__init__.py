"""Gymnasium environments made for teaching and for exact checks."""
