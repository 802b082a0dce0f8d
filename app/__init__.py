"""Offline coach for AI-engineering interviews."""
