"""One client: ``Analytics``, the six calls, the per-request handle, options, message
building, the processing chain, and the pipeline that owns accepted messages."""
