"""Translation of instruction data: Google, LLM (the study's Command R prompt) and local MT backends
behind one batch interface, and a pipeline that protects formatting, caches every segment, resumes
after a crash, and reports on quality and cost."""
