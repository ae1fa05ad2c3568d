"""Lambda handlers the portal deploys for stream pipelines, each a self-contained module (zipped alone
as ``handler.py``, so only the standard library and the Lambda runtime's boto3 may be imported at the
top). The tests import them as ordinary modules and drive them with Firehose- and S3-shaped events."""
