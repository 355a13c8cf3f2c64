"""The process around the clients: the one owner of process-wide state (live clients,
fork resets, exit and signal hooks), the uWSGI check, and ``flush_after``."""
