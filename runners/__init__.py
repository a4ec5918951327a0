"""Model backends (GGUF, fake) behind one ``Runner`` interface, the catalog, and the run loop."""

from runners.base import Completion, GenerationParams, Request, Runner, RunnerError, split_reasoning

__all__ = ["Completion", "GenerationParams", "Request", "Runner", "RunnerError", "split_reasoning"]
