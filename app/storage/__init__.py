"""The only package that imports sqlite_utils: the bank, the index tables and the user database."""
