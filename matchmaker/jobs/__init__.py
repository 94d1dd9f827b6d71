"""Background jobs: the state in the database, the work carried by RQ on Redis."""
