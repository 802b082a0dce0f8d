"""Session services: the flow of a practice answer and of a mock interview, and the one queue to the grading model.
No Qt here: the views render what these decide and forward the learner's actions."""
