"""What `hub run|web|worker` start and stop: the server, the worker's list of jobs, the
services a process holds open (database, queue, broker, channels), logs and the CPU pool."""
