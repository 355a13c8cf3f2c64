"""The processing chain every message goes through in ``Analytics.enqueue``.

normalise (the calls) → build and validate (``message.build_message``) → steps, in
order (``chain.build_steps``) → encode and size-check (``message.encode_message``) →
store (the client's queue). Each step is a module of its own here.
"""

from segment_web.core.processing.chain import MessageChain, Processed, build_steps
from segment_web.core.processing.step import Drop, Step

__all__ = ["Drop", "MessageChain", "Processed", "Step", "build_steps"]
