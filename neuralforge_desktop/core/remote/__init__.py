"""Remote GPU hosts over SSH: the host registry, trusted host keys, the connection, probing and bootstrapping a
host, dispatching a training run to it and following its events, the GPU queue.

Nothing here imports Qt; paramiko is imported only when a connection is opened."""
