"""EUR endpoints: the member's wallet, history, pockets, transfers and pledges, campaigns, the
payment webhook, staff campaigns, settlement and refunds (``views``, ``serializers``,
``urls``).

May import ``saka.api.common``, ``saka.euro`` and ``saka.core``; never another domain package
of ``saka.api``.
"""
