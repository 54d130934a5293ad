from saka.grains.management.run_command import RunCommand
from saka.grains.runs.compost import COMPOST, compost_run_start


class Command(RunCommand):
    help = "Compost idle wallets into the silo for the ISO week of --as-of (resumes, idempotent)."
    start = staticmethod(compost_run_start)
    spec = COMPOST
    noun = "compost"
