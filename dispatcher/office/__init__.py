"""The office's services: storing editions, approvals, scheduling, images, proofs,
users and the audit log, privacy, and the sign-up confirmation mails.

Each function takes a session and never commits: the CLI, web or task that calls it owns
the transaction.
"""
