"""Outgoing e-mail: every message is stored in an outbox and sent over SMTP when configured."""
