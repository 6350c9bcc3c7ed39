import json

import pytest

from fieldmill import documents
from fieldmill.documents import decode_document
from fieldmill.synth.pdf import text_pdf
from hostile_files import encrypted_pdf, hostile_files


def test_plain_text_and_markdown():
    assert decode_document("a.txt", "Total:  12.50\r\n\r\n\r\nDue  soon".encode()).text == "Total: 12.50\n\nDue soon"
    assert decode_document("b.MD", b"# Title\n\n- item").text == "# Title\n\n- item"


def test_html_drops_scripts_styles_and_head():
    page = b"<html><head><title>T</title><style>p{color:red}</style></head><body><script>steal()</script><p>Invoice &amp; co</p><table><tr><td>Total</td><td>9</td></tr></table></body></html>"
    text = decode_document("page.html", page).text
    assert "steal" not in text and "color" not in text
    assert "Invoice & co" in text and "Total 9" in text


def test_pdf_text_layer():
    text = decode_document("doc.pdf", text_pdf("Invoice RX-1\nTotal (EUR) 12.00")).text
    assert "Invoice RX-1" in text and "Total (EUR) 12.00" in text


def test_json_is_rendered_as_text():
    text = decode_document("r.json", json.dumps({"patient": "Ann", "age": 40}).encode()).text
    assert '"patient": "Ann"' in text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", documents.EMPTY),
        ("blank.txt", b"  \n\t ", documents.EMPTY),
        ("image.png", b"\x89PNG....", documents.DECODE_ERROR),  # images go to OCR; this one is corrupt
        ("noext", b"hello", documents.UNSUPPORTED_TYPE),
        ("binary.txt", bytes(range(256)) * 40, documents.DECODE_ERROR),
        ("truncated.pdf", text_pdf("hello")[:200], documents.DECODE_ERROR),
        ("encrypted.pdf", encrypted_pdf("hello"), documents.DECODE_ERROR),
        ("scanned.pdf", text_pdf(""), documents.EMPTY),
        ("bad.json", b"{not json", documents.DECODE_ERROR),
        ("scripts.html", b"<script>only()</script>", documents.EMPTY),
    ],
)
def test_bad_input_gives_a_reason_not_an_exception(name, data, reason):
    decoded = decode_document(name, data)
    assert decoded.text is None and decoded.reason == reason and decoded.message


def test_encrypted_pdf_says_so():
    assert "encrypted" in decode_document("e.pdf", encrypted_pdf("secret")).message


@pytest.mark.parametrize("name", [n for n, (_, reason) in hostile_files().items() if reason not in (None, "too_long")])
def test_every_hostile_file_that_cannot_reach_the_model_says_why(name):
    data, reason = hostile_files()[name]
    decoded = decode_document(name, data)
    assert decoded.text is None and decoded.reason == reason and decoded.message


def test_legacy_encodings_and_nul_bytes():
    assert decode_document("l.txt", "Café Müller, total 12 €".encode("cp1252")).text.startswith("Caf")
    assert decode_document("u16.txt", "Grüße".encode("utf-16")).text == "Grüße"
    assert decode_document("nul.txt", b"ab\x00cd").text == "abcd"
    assert decode_document("bom.txt", b"\xef\xbb\xbfhello").text == "hello"
