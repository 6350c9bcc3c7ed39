"""Extraction: the actor that reads a document (or a window of it) with the model under its constraint, what it
makes of the answer (repair, evidence, confidence) and how a long document's windows are chosen and merged."""
