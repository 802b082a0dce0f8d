"""Chunking, the hybrid index and retrieval; takes an `embed` callable, never imports llama_cpp."""
