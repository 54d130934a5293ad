"""What a front end reads first, across both currencies: the member's assets overview
(``GET me/assets/``) and the public configuration (``GET config/``): ``views``,
``serializers``, ``urls``.

The one API package that combines domains: it may import ``saka.api.common``,
``saka.grains``, ``saka.euro`` and ``saka.core``; never another domain package of
``saka.api``.
"""
