"""(filled in below)"""
from __future__ import annotations

TENSOR_METHODS: dict = {}

__all__: list = []
