"""The counsellor's contact record: data/ catalogs, and the service that keeps records."""
