"""Reads content/ (notes and the question bank source), validates it, and compiles the bank."""
