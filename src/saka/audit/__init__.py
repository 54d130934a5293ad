"""Staff roles and the audit trail of staff actions.

- ``roles``: the one table of staff permissions, the roles (groups) that hold them and the
  staff actions that need them; everything (API, admin, services, docs) reads it.
- ``services``: ``staff_require`` (refuse an actor without the permission, recording the
  refusal in its own transaction), ``self_action_refuse`` and ``audit_record`` (inside the
  action's own transaction).
- ``selectors``: the audit list.

A layer beside ``saka.ledger`` and ``saka.engine``: imports only ``saka.core`` and Django.
"""
