"""The bad-input catalogue (cases.py) and its test."""
