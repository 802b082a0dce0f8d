"""Plain data and pure logic: no Qt, no SQLite, no llama.cpp."""
