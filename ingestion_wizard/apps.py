from django.apps import AppConfig


class IngestionWizardConfig(AppConfig):
    name = "ingestion_wizard"
