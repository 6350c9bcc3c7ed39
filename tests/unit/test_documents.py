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


def test_a_lone_surrogate_decodes_to_text_that_encodes():
    decoded = decode_document("odd.json", b'{"note": "\\ud800 end"}')
    assert decoded.text.encode("utf-8") and "end" in decoded.text


def test_one_documents_surprise_is_its_failed_row_never_the_batchs_end(monkeypatch):
    def explode(uri, *args, **kwargs):
        if uri.endswith("bad.txt"):
            raise RuntimeError("a library bug")
        return documents.Decoded("fine", text_source="text")

    monkeypatch.setattr(documents, "read_document", explode)
    from fieldmill.document import DOCUMENT, Document, Source

    batch = {DOCUMENT: [Document(Source(f"/d/{name}", name, "e", 4)).to_bytes() for name in ("ok.txt", "bad.txt")]}
    ok, bad = map(Document.from_bytes, documents.decode_batch(batch, 1 << 20)[DOCUMENT])
    assert (ok.text, ok.reason, ok.text_source) == ("fine", "", "text") and ok.text_sha256 == documents.text_digest("fine")
    assert (bad.text, bad.reason) == ("", documents.DECODE_ERROR) and "a library bug" in bad.message


def test_a_local_name_that_is_not_utf8_travels_as_its_bytes_and_is_written_printable(tmp_path):
    from fieldmill import storage
    from fieldmill.document import DOCUMENT, Document
    from fieldmill.run.executor import expand_chunk
    from fieldmill.run.store import doc_digest

    odd = "caf\udce9.txt"  # how Python lists a file named b"caf\xe9.txt"
    (tmp_path / odd).write_bytes(b"Invoice 7 total 3.00")
    (listed,) = storage.list_objects(str(tmp_path) + "/")
    chunk = tmp_path / "chunk.jsonl"
    chunk.write_text(json.dumps({"uri": listed.uri, "key": listed.key, "etag": listed.etag, "size": listed.size, "done": False}) + "\n")
    (row,) = expand_chunk({"chunk": str(chunk)})
    source = Document.from_bytes(row[DOCUMENT]).source
    assert source.key == "caf\\xe9.txt" and source.uri.encode("utf-8") and source.location == listed.uri
    assert doc_digest(listed.uri, "e") == doc_digest(source.uri, "e")  # the listing and the rows key the done-set alike
    (read,) = documents.decode_batch({DOCUMENT: [row[DOCUMENT]]}, 1 << 20)[DOCUMENT]
    assert Document.from_bytes(read).text == "Invoice 7 total 3.00"


def test_a_pdf_over_the_page_limit_is_refused_from_its_page_count_before_any_page_is_read(monkeypatch):
    import io

    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(40):
        pdf.new_page(200, 200)
    buffer = io.BytesIO()
    pdf.save(buffer)
    read = []
    real = pdfium.PdfPage.get_textpage
    monkeypatch.setattr(pdfium.PdfPage, "get_textpage", lambda page: read.append(1) or real(page))
    refused = decode_document("long.pdf", buffer.getvalue(), max_pages=30)
    assert (refused.reason, refused.message) == (documents.TOO_LONG, "document of 40 pages exceeds --max-doc-pages 30") and not read
    assert decode_document("long.pdf", buffer.getvalue(), max_pages=40).reason == documents.EMPTY and len(read) == 40
