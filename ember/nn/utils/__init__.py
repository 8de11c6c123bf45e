"""``ember.nn.utils``: helpers around modules and parameters (filled in as they are written)."""
