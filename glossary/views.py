"""HTML pages of the glossary: term list, term page, term form, CSV import (diff first) and export,
suggested synonyms. Parse, call a service, render."""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from glossary import csv_io, queries, services, suggestions
from glossary.filtersets import TermFilterSet
from glossary.forms import ImportForm, TermForm
from glossary.models import SynonymSuggestion, Term
from identity.audit import client_ip
from portal.filtering import filtered_for_page
from identity.roles import acting_role, current_role, may_curate, role_required

PAGE_SIZE = 50


@role_required
def term_list(request: HttpRequest) -> HttpResponse:
    filters = TermFilterSet(request.GET, queryset=queries.terms())
    page = Paginator(filtered_for_page(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "glossary/list.html", {
        "filters": filters, "page": page, "keeps_terms": services.may_keep_some_terms(current_role(request)),
        "offered": queries.suggestions().count(),
    }, status=200 if filters.is_valid() else 400)


@role_required
def term_detail(request: HttpRequest, pk: int) -> HttpResponse:
    term = queries.get_term(pk)
    role = current_role(request)
    return render(request, "glossary/term.html", {
        "term": term, "datasets": queries.term_datasets(term, role), "children": term.children.order_by("name"),
        "may_edit": may_curate(role, term.owner_hub),
    })


def _save(request: HttpRequest, term: Term | None) -> HttpResponse:
    role = acting_role(request)
    if request.method == "POST":
        form = TermForm(request.POST)
        if form.is_valid():
            try:
                if term is None:
                    term = services.create_term(form.to_input(), actor=request.user, role=role, ip=client_ip(request))
                else:
                    term = services.update_term(term, form.to_input(), actor=request.user, role=role,
                                                ip=client_ip(request))
            except services.GlossaryForbidden as exc:
                form.add_error(None, str(exc))
            except services.GlossaryError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, f"Saved {term.name}.")
                return redirect("glossary:term", pk=term.pk)
        status = 400
    else:
        start = services.as_input(term) if term is not None else services.TermInput(name="", owner_hub=role.hub or "")
        form, status = TermForm(initial=TermForm.initial_of(start)), 200
    return render(request, "glossary/form.html", {"form": form, "term": term}, status=status)


@role_required
def term_new(request: HttpRequest) -> HttpResponse:
    return _save(request, None)


@role_required
def term_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save(request, queries.get_term(pk))


@role_required
@require_POST
def term_delete(request: HttpRequest, pk: int) -> HttpResponse:
    term = queries.get_term(pk)
    try:
        services.delete_term(term, actor=request.user, role=acting_role(request), ip=client_ip(request))
    except (services.GlossaryError, services.GlossaryForbidden) as exc:
        messages.error(request, str(exc))
        return redirect("glossary:term", pk=pk)
    messages.success(request, f"Deleted {term.name}.")
    return redirect("glossary:list")


@role_required
def export(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(csv_io.export_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="glossary.csv"'
    return response


@role_required
def import_csv(request: HttpRequest) -> HttpResponse:
    """Step 1 (POST without ``apply``): the diff of the file. Step 2 (``apply``): the same text, imported."""
    role = acting_role(request)
    plan, text, status = None, "", 200
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                text = form.text()
            except django_forms.ValidationError as exc:
                form.add_error("file", exc)
        if form.is_valid() and not text.strip():
            form.add_error("csv", "Choose a file or paste a CSV.")
        if form.is_valid():
            plan = csv_io.plan_import(text, role)
            status = 400 if plan.errors else 200
            if "apply" in request.POST and not plan.errors:
                try:
                    plan = csv_io.apply_import(text, actor=request.user, role=role, ip=client_ip(request))
                except services.GlossaryError as exc:
                    form.add_error(None, str(exc))
                    return render(request, "glossary/import.html", {"form": form, "plan": plan, "text": text}, status=400)
                messages.success(request, f"Imported: {len(plan.added)} added, {len(plan.changed)} changed, "
                                          f"{plan.unchanged} unchanged.")
                return redirect("glossary:list")
    return render(request, "glossary/import.html", {"form": form, "plan": plan, "text": text}, status=status)


@role_required
def suggestion_list(request: HttpRequest) -> HttpResponse:
    return render(request, "glossary/suggestions.html", {
        "suggestions": queries.suggestions()[:200], "keeps_terms": services.may_keep_some_terms(current_role(request)),
    })


@role_required
@require_POST
def suggestion_refresh(request: HttpRequest) -> HttpResponse:
    if not services.may_keep_some_terms(current_role(request)):
        messages.error(request, "Only stewards and admins look for suggestions.")
    else:
        messages.success(request, f"{suggestions.refresh_suggestions()} new suggestion(s).")
    return redirect("glossary:suggestions")


@role_required
@require_POST
def suggestion_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    suggestion = SynonymSuggestion.objects.filter(pk=pk).first()
    if suggestion is None:
        messages.error(request, "That suggestion is gone.")
        return redirect("glossary:suggestions")
    try:
        if decision == "accept":
            term = suggestions.accept(suggestion, actor=request.user, role=acting_role(request), ip=client_ip(request))
            messages.success(request, f"{suggestion.short_form} is now a form of {term.name} ({term.state}).")
        else:
            suggestions.dismiss(suggestion, actor=request.user, role=acting_role(request), ip=client_ip(request))
            messages.success(request, f"Dismissed {suggestion.short_form} → {suggestion.meaning}.")
    except (services.GlossaryError, services.GlossaryForbidden) as exc:
        messages.error(request, str(exc))
    return redirect("glossary:suggestions")
