"""The only package that imports llama_cpp: model files, the engine, prompts and grader calls."""
