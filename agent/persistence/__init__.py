"""Where the runtime keeps its data: one tables module for every runtime table, the database
and its errors, threads and leases, approvals, the audit log, traces, workflow rows, service
keys and feedback, checkpoints and migrations. The only part of ``agent`` that uses SQLAlchemy."""
