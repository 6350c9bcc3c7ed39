"""What travels through a run for one document (document.py): typed values that survive Ray Data's columns whole."""

from fieldmill.document import Document, Source, Spare, Window, whole
from fieldmill.documents import text_digest


def test_a_document_and_its_window_travel_as_bytes_and_come_back_equal():
    document = Document(Source("/d/caf\\xe9.txt", "caf\\xe9.txt", "e1", 10, 2, "/d/caf\udce9.txt".encode("utf-8", "surrogateescape")),
                        "INVOICE 7", pages=((0, 1),), text_sha256=text_digest("INVOICE 7"), text_source="text_layer", ocr_confidence=None)
    window = Window(1, 3, 900, "Total 9.00", ("total",), (Spare(7, 5000, "Balance 9.00", ("total",)),))
    assert Document.from_bytes(document.to_bytes()) == document and Window.from_bytes(window.to_bytes()) == window
    assert document.source.location == "/d/caf\udce9.txt" and document.uri == "/d/caf\\xe9.txt"  # read by its own name, shown printable
    assert Source("/d/a.txt").location == "/d/a.txt" and window.end == 910


def test_a_failed_document_keeps_its_source_and_loses_its_text():
    document = Document.of_text("/d/a.txt", "INVOICE 7")
    assert document.text_sha256 == text_digest("INVOICE 7") and whole(document) == Window(text="INVOICE 7")
    failed = document.failed("too_long", "document of 900 pages exceeds --max-doc-pages 500")
    assert (failed.reason, failed.text, failed.source) == ("too_long", "", document.source) and "900 pages" in failed.message
