"""Background jobs that keep the request's identity: ``segment_web.jobs.celery`` and
``segment_web.jobs.rq``. Neither side knows which web framework made the request."""
