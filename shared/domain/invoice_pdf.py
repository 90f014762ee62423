"""The invoice as a PDF the customer can open, print and keep, with no dependency.

A plain PDF 1.4: A4 pages, the standard Helvetica fonts (every PDF reader has them, nothing to
embed) in WinAnsiEncoding, which covers French (é, è, à, ç, œ, €). Text only, uncompressed: a
few kilobytes per invoice, and the numbers stay searchable. Long invoices flow onto more pages.
"""

from __future__ import annotations

from decimal import Decimal

from shared.domain.invoice import Invoice

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN, LINE = 50, 14
TITLE_MAX = 48  # characters of an item's title on its row

_LABELS = {
    "fr": ("Facture", "Date", "Commande", "Facturé à", "Désignation", "Qté", "PU HT", "TVA", "Montant HT",
           "Total HT", "Total TTC", "N° de série"),
    "en": ("Invoice", "Date", "Order", "Bill to", "Item", "Qty", "Unit excl.", "VAT", "Amount excl.",
           "Total excl. VAT", "Total incl. VAT", "Serial numbers"),
}  # fmt: skip

Row = tuple[str, list[tuple[int, str]]]  # (font "F1"/"F2", [(x, text)])


def _text(value: str) -> bytes:
    """A PDF string literal in WinAnsiEncoding (what cannot be encoded becomes '?')."""
    raw = value.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _rows(invoice: Invoice, locale: str, seller: str) -> list[Row]:
    (title, date, order, bill_to, item, qty, unit, vat, excl, total_excl, total_incl, serials) = _LABELS.get(
        locale[:2], _LABELS["fr"]
    )
    address = invoice.billing_address
    rows: list[Row] = [
        ("F2", [(MARGIN, f"{seller} - {title} {invoice.number}")]),
        (
            "F1",
            [(MARGIN, f"{date}: {invoice.issued_at.date().isoformat()}    {order}: {invoice.order_number}")],
        ),
        ("F1", []),
        ("F2", [(MARGIN, bill_to)]),
    ]
    for part in (
        address.name,
        address.company,
        address.line1,
        address.line2,
        " ".join(p for p in (address.postal_code, address.city) if p),
        address.country,
    ):
        if part:
            rows.append(("F1", [(MARGIN, part)]))
    rows += [("F1", []), ("F2", [(MARGIN, item), (330, qty), (370, unit), (440, vat), (490, excl)])]
    for line in invoice.lines:
        name = line.title if len(line.title) <= TITLE_MAX else line.title[: TITLE_MAX - 1] + "…"
        rows.append(
            (
                "F1",
                [
                    (MARGIN, name),
                    (330, str(line.quantity)),
                    (370, f"{line.unit_price:.2f}"),
                    (440, f"{line.vat_rate * 100:.1f} %"),
                    (490, f"{line.amount_excl_vat:.2f}"),
                ],
            )
        )
        if line.serial_numbers:
            rows.append(("F1", [(MARGIN + 10, f"{serials}: {', '.join(line.serial_numbers)}"[:90])]))
    rows += [
        ("F1", []),
        ("F1", [(370, total_excl), (490, f"{invoice.total_excl_vat:.2f} {invoice.currency}")]),
    ]
    for rate, amount in sorted(invoice.vat_breakdown.items()):
        rows.append(
            ("F1", [(370, f"{vat} {Decimal(rate) * 100:.1f} %"), (490, f"{amount:.2f} {invoice.currency}")])
        )
    rows.append(("F2", [(370, total_incl), (490, f"{invoice.total_incl_vat:.2f} {invoice.currency}")]))
    return rows


def _page_stream(rows: list[Row]) -> bytes:
    out = [b"BT"]
    y = PAGE_HEIGHT - MARGIN
    for font, cells in rows:
        for x, value in cells:
            out.append(b"/%s 10 Tf 1 0 0 1 %d %d Tm %s Tj" % (font.encode(), x, y, _text(value)))
        y -= LINE
    out.append(b"ET")
    return b"\n".join(out)


def render_pdf(invoice: Invoice, locale: str = "fr", seller: str = "Guichet") -> bytes:
    rows = _rows(invoice, locale, seller)
    per_page = (PAGE_HEIGHT - 2 * MARGIN) // LINE
    pages = [rows[i : i + per_page] for i in range(0, len(rows), per_page)] or [[]]
    # Objects: 1 catalog, 2 pages, 3-4 fonts, then (page, contents) per page.
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the page numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for page_rows in pages:
        page_number, contents_number = len(objects) + 1, len(objects) + 2
        kids.append(b"%d 0 R" % page_number)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R"
            b" /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, contents_number)
        )
        stream = _page_stream(page_rows)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(pages))
    document = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(document))
        document += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(document)
    document += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    document += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    document += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(document)
