"""Project endpoints: the list by SAKA score, one project, boosting a project with grains.

``views``, ``serializers``, ``urls``. May import ``saka.api.common``, the SAKA serializers of
``saka.api.saka`` (a boost answers like a plant), ``saka.projects``, ``saka.grains`` (the
boost is a grains service) and the EUR campaign's selector and serializer (``saka.euro``,
``saka.api.euro``: a project's payload carries its campaign).
"""
