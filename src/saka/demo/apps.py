"""The demo app: its management commands (``saka_demo``, ``saka_seed``); no models."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "saka.demo"
    label = "demo"
    verbose_name = "SAKA demo and benchmark data"
