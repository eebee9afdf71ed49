"""The auditors' Django admin at ``/admin/``: every RAM model, read-only for everyone.

Writes happen only through ``ram.services`` (console, API, CLI), which audit them; the admin
offers none, to superusers neither. The Auditors group (``ram.bootstrap``) holds view permissions.
Built for large tables (``readonly.EstimatedCountPaginator``, indexed filters and searches,
constant queries per page); every list exports as CSV; an account's page gives its credential
report; ``/admin/ram/accesskey/hygiene/`` is the key-hygiene dashboard. No page ever renders an
AccessKey secret (in use or in the recycle bin), an STS session's secret or SecurityToken digest,
their ciphertext, or an MFA seed.

Modules: ``readonly`` (the base), ``filters``, ``identities`` (accounts, RAM users, MFA devices),
``policies`` (policies and their versions), ``roles`` (RAM roles, their policy attachments, STS
sessions), ``access_keys``, ``recycle_bin`` (deleted AccessKeys in their owners' recycle bins),
``usage`` (where and how each AccessKey was used, per day), ``events`` (the audit trail), ``hygiene``
(the dashboard).
"""
from . import access_keys, events, identities, policies, recycle_bin, roles, usage  # noqa: F401 (they register the model admins)
