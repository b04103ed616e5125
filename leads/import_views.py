"""Pages for CSV import (upload → columns → preview → run with a progress bar → report) and CSV export."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from leads.csv_files import TARGETS, CsvShape, csv_lines, iter_rows
from leads.filters import LeadFilter
from leads.identity import email_domain, is_free_mail, normalise_domain, normalise_email
from leads.import_services import lead_import_create, lead_import_preview, lead_import_start
from leads.models import LeadImport, LeadImportRejection
from leads.selectors import leads_for_list
from smarketing.forms import add_service_errors
from smarketing.roles import Action

# Rows fetched per round trip while exporting: memory stays flat at a million leads.
EXPORT_CHUNK = 2000


class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="Exports from HubSpot, Salesforce or a spreadsheet saved as "
                                                       "CSV; any encoding, comma, semicolon or tab separated.")


def _ensure_can_import(request: HttpRequest) -> None:
    if not request.user.can(Action.LEAD_IMPORT):
        raise PermissionDenied


def lead_import_upload(request: HttpRequest) -> HttpResponse:
    _ensure_can_import(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead_import = lead_import_create(actor=request.user, upload=form.cleaned_data["file"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("leads:lead_import_detail", import_id=lead_import.pk)
    imports = LeadImport.objects.select_related("created_by")[:20]
    return render(request, "leads/lead_import.html", {"form": form, "imports": imports})


def _mapping_from(request: HttpRequest, lead_import: LeadImport) -> list[str]:
    return [request.POST.get(f"column_{i}", target) for i, target in enumerate(lead_import.mapping)]


def lead_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    _ensure_can_import(request)
    lead_import = get_object_or_404(LeadImport, pk=import_id)
    if lead_import.status != LeadImport.Status.MAPPING:
        template = "leads/lead_import_detail.html#import-progress" if request.htmx else "leads/lead_import_detail.html"
        return render(request, template, {"lead_import": lead_import})

    mapping = _mapping_from(request, lead_import) if request.method == "POST" else lead_import.mapping
    errors: list[str] = []
    if request.method == "POST" and not request.htmx:
        try:
            lead_import_start(actor=request.user, lead_import=lead_import, mapping=mapping,
                              existing=request.POST.get("existing", "update"))
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, "Import started. You can leave this page: it goes on in the background.")
            return redirect("leads:lead_import_detail", import_id=lead_import.pk)
    context = {
        "lead_import": lead_import, "errors": errors, "targets": TARGETS.items(),
        "columns": [(i, name, mapping[i], [row[i] if i < len(row) else "" for _, row in _samples(lead_import)])
                    for i, name in enumerate(lead_import.header)],
        "preview": [_as_stored(line, capture)
                    for line, capture in lead_import_preview(lead_import=lead_import, mapping=mapping)],
        "existing": request.POST.get("existing", lead_import.existing),
    }
    template = "leads/lead_import_detail.html#import-preview" if request.htmx else "leads/lead_import_detail.html"
    return render(request, template, context)


def _as_stored(line: int, capture) -> dict:
    """One preview row: what the lead will hold (the company as the capture rules will find it)."""
    if isinstance(capture, str):
        return {"line": line, "rejected": capture}
    try:
        normalise_email(capture.email)
    except ValidationError as exc:
        return {"line": line, "rejected": f"“{capture.email}”: {' '.join(exc.messages)}"}
    properties = list((capture.properties or {}).items())
    domain = normalise_domain(capture.company_domain) if capture.company_domain else email_domain(capture.email)
    company = capture.company_name or ("" if is_free_mail(domain) else domain)
    return {"line": line, "email": capture.email.strip().lower(), "fields": capture.fields, "company": company,
            "properties": properties[:4], "more_properties": max(len(properties) - 4, 0)}


def _samples(lead_import: LeadImport) -> list[tuple[int, list[str]]]:
    shape = CsvShape(encoding=lead_import.encoding, delimiter=lead_import.delimiter, header=lead_import.header)
    rows = []
    with lead_import.file.open("rb") as stored:
        for line, cells in iter_rows(stored.file, shape):
            rows.append((line, cells))
            if len(rows) == 3:
                break
    return rows


def lead_import_report(request: HttpRequest, import_id: int) -> StreamingHttpResponse:
    """Every rejected row with its line number and the reason, then the row as it was in the file."""
    _ensure_can_import(request)
    lead_import = get_object_or_404(LeadImport, pk=import_id)
    rejections = LeadImportRejection.objects.filter(lead_import=lead_import).order_by("line").values_list(
        "line", "reason", "values")

    def rows():
        yield ["line", "reason", *lead_import.header]
        for line, reason, values in rejections.iterator(chunk_size=EXPORT_CHUNK):
            yield [line, reason, *values]

    name = lead_import.original_name.rsplit(".", 1)[0]
    response = StreamingHttpResponse(csv_lines(rows()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_safe_filename(name)}-rejected-rows.csv"'
    return response


def _safe_filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[:80] or "import"


EXPORT_COLUMNS = [
    ("id", "id"), ("email", "email"), ("first_name", "first_name"), ("last_name", "last_name"),
    ("phone", "phone"), ("job_title", "job_title"), ("seniority", "seniority"), ("country", "country"),
    ("company", "company__name"), ("company_domain", "company__domain"), ("stage", "stage"),
    ("owner", "owner__email"), ("source", "source"), ("campaign", "campaign"), ("utm_source", "utm_source"),
    ("utm_medium", "utm_medium"), ("utm_campaign", "utm_campaign"), ("do_not_contact", "do_not_contact"),
    ("created_at", "created_at"), ("last_activity_at", "last_activity_at"), ("properties", "properties"),
]


def lead_export(request: HttpRequest) -> HttpResponse:
    """The lead list with its current filters as a CSV file, streamed; formulas neutralised in every cell."""
    _ensure_can_import(request)
    lead_filter = LeadFilter(request.GET, queryset=leads_for_list())
    if not lead_filter.is_valid():
        messages.error(request, "Some filters could not be read; fix them before exporting.")
        return redirect("leads:lead_list")
    # values_list + iterator: rows are streamed from a server-side cursor, never all held in memory.
    queryset = lead_filter.qs.values_list(*(path for _, path in EXPORT_COLUMNS))

    def rows():
        yield [name for name, _ in EXPORT_COLUMNS]
        yield from queryset.iterator(chunk_size=EXPORT_CHUNK)

    response = StreamingHttpResponse(csv_lines(rows()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{timezone.now():%Y-%m-%d}.csv"'
    return response
