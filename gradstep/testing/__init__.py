"""Public helpers to check ops, yours included: :func:`gradcheck`."""
from .gradcheck import gradcheck

__all__ = ["gradcheck"]
