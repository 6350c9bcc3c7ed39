"""The structured-output backends vLLM can enforce a constraint with, the default first.

guidance (llguidance) is the default on measurements (`bench/backends.py`): with Gemma's
262k-token vocabulary its token mask costs 0.03-0.2 ms per token on the built-in schemas,
xgrammar's 26-250 ms, so with xgrammar the mask, not the model, sets a CPU's speed.
"""

BACKENDS = ("guidance", "xgrammar", "outlines")
DEFAULT_BACKEND = BACKENDS[0]
