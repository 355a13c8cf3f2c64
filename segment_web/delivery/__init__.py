"""What runs on the delivery threads: batches, HTTP routes and retries, deadlines,
compression, and reporting what became of each message."""
