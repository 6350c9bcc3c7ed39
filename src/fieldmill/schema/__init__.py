"""A schema: loaded from its source, hardened, turned into the decoding constraint (a regex, or a Lark grammar per
document), its rules (validation) and its Arrow types."""
