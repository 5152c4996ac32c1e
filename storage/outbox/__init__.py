"""The outbox: the one record of what is sent to whom. Its rows, statuses and priorities are
defined here and nowhere else (rows.py, states.py)."""
