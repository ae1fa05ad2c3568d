"""Ingestion's AWS side: the resources a pipeline provisions (``provisioning``), its source
secret in Secrets Manager (``secrets``), the Glue job script (``glue_script``) and how AWS
errors are classified (``errors``). Clients come from ``portal.aws``, as everywhere."""
