from django.apps import AppConfig


class SampledataConfig(AppConfig):
    name = "sampledata"
    verbose_name = "Sample inbox data"
