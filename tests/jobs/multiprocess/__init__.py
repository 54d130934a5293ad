"""Runs shared by real Celery worker processes (PostgreSQL, a real Redis broker), one of them
SIGKILLed mid-run; stranded runs finished by the next beat tick or by the resume task; the
same through PgBouncer in transaction pooling mode."""
