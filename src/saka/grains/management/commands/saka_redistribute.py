from saka.grains.management.run_command import RunCommand
from saka.grains.runs.redistribution import REDISTRIBUTION, redistribution_run_start


class Command(RunCommand):
    help = "Redistribute the silo to active members for the month of --as-of (resumes, idempotent)."
    start = staticmethod(redistribution_run_start)
    spec = REDISTRIBUTION
    noun = "redistribution"
