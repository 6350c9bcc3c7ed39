"""How the extractor reads each document: the part of a run's settings (`RunConfig.extraction`) that travels to
the extraction actors whole, one value rather than one constructor argument per setting."""

from __future__ import annotations

from pydantic import BaseModel, Field

from fieldmill.engines.base import EngineConfig
from fieldmill.extract.doubted import NULLS_KEPT, NULLS_REREAD

GROUNDING_OFF = "off"
GROUNDING_STRICT = "strict"  # free-text fields can only be copied from the document (schema/lark_grammar.py)
# Where date and number fields take their values: what the document prints (schema/document_dates.py,
# schema/document_numbers.py), or anything their type allows.
FROM_DOCUMENT = "document"
ANY_VALUE = "any"


class ExtractionSettings(BaseModel):
    """The engine, the document's budget, the attempts and where values may come from."""

    engine: EngineConfig = Field(default_factory=EngineConfig)
    max_doc_tokens: int | None = Field(None, ge=1, description="Largest document (in prompt tokens) sent to the model; default: what the context allows.")
    retries: int = Field(2, ge=0, le=10, description="Extra attempts, sampled at the retry temperature, for a record that fails validation "
                         "(the first is greedy; 0 = greedy only).", json_schema_extra={"env": "FIELDMILL_RETRIES"})
    retry_temperature: float = Field(0.7, gt=0, le=2, description="Sampling temperature of the retries.")
    grounding: str = Field(GROUNDING_OFF, pattern=f"^({GROUNDING_OFF}|{GROUNDING_STRICT})$",
                           description="strict: free-text fields are null or a verbatim span of the document, by construction (a per-document grammar); evidence and confidence are written either way.",
                           json_schema_extra={"env": "FIELDMILL_GROUNDING"})
    dates: str = Field(FROM_DOCUMENT, pattern=f"^({FROM_DOCUMENT}|{ANY_VALUE})$",
                       description="document: a date field holds a date the document prints (read either way when ambiguous), in the form its description asks for, or null; any: whatever date the model writes. "
                       "A document that prints no date decodes as with any.", json_schema_extra={"env": "FIELDMILL_DATES"})
    numbers: str = Field(FROM_DOCUMENT, pattern=f"^({FROM_DOCUMENT}|{ANY_VALUE})$",
                         description="document: a number field (not an integer) and a string field asking for an amount with two decimals hold a number the document prints (every reading of 1.234), or null, "
                         "and a field asking for the person who signed (or their title) holds a line under the letter's closing; any: whatever the "
                         "model writes. A document that prints none decodes as with any.",
                         json_schema_extra={"env": "FIELDMILL_NUMBERS"})
    nulls: str = Field(NULLS_REREAD, pattern=f"^({NULLS_REREAD}|{NULLS_KEPT})$",
                       description="reread: a null while the document holds candidates of the field's kind is asked again, once per document, "
                       "with null not allowed, and the answer kept when the document backs it and no other field holds it (extract/doubted.py); "
                       "keep: the first answer's nulls stand.", json_schema_extra={"env": "FIELDMILL_NULLS"})


__all__ = ["ExtractionSettings", "GROUNDING_OFF", "GROUNDING_STRICT", "FROM_DOCUMENT", "ANY_VALUE"]
