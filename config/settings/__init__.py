"""Settings of the SAKA reference project, one module per environment.

``base`` holds what every environment shares and reads the environment; ``local`` (the
default of ``manage.py``, WSGI and Celery: DEBUG on, a SQLite file unless ``DATABASE_URL``),
``test`` (pytest: ``local`` with a fast password hasher) and ``production`` (DEBUG off, the
secret key, hosts, database and broker required, secure cookies, HSTS, TLS behind a proxy)
start from it. Settings modules import only each other and the libraries they configure.
"""
