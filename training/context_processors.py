"""Template context of the training guide panel (sandbox pages only)."""
from .guide import guide_context


def guide(request):
    return guide_context(request)
