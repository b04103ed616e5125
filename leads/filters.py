"""The lead list's search, filters and sort order (django-filter). They live in the URL's query string."""

import django_filters
from django import forms
from django.db.models import F, Q

from leads.models import Lead, Stage
from smarketing.models import User
from smarketing.roles import Role


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search",
                                  widget=forms.TextInput(attrs={"placeholder": "Name, e-mail or company",
                                                                "type": "search"}))
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label="Any stage")
    owner = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(role__in=[Role.SALES_REP, Role.SALES_MANAGER], is_active=True),
        empty_label="Any owner",
    )
    unassigned = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull", label="Unassigned")
    source = django_filters.CharFilter(lookup_expr="iexact")
    campaign = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(lookup_expr="iexact", max_length=2)
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label="Created from",
                                              widget=forms.DateInput(attrs={"type": "date"}))
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label="Created to",
                                               widget=forms.DateInput(attrs={"type": "date"}))
    sort = django_filters.OrderingFilter(
        fields=(
            ("last_name", "name"),
            ("email", "email"),
            ("company__name", "company"),
            ("stage", "stage"),
            ("source", "source"),
            ("created_at", "created"),
            ("last_activity_at", "activity"),
            # The scoring app's one-to-one score row, by relation name (leads never imports scoring).
            ("score__total", "score"),
        ),
    )

    class Meta:
        model = Lead
        fields: list[str] = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        terms = Q(email__icontains=value) | Q(company__name__icontains=value)
        parts = value.split()
        if len(parts) >= 2:
            terms |= Q(first_name__icontains=parts[0], last_name__icontains=" ".join(parts[1:]))
        terms |= Q(first_name__icontains=value) | Q(last_name__icontains=value)
        return queryset.filter(terms)

    @property
    def qs(self):
        queryset = super().qs
        # Leads without a score sort last both ways, on every database (PostgreSQL puts NULLs first in DESC).
        ordering = [
            F("score__total").desc(nulls_last=True) if term == "-score__total"
            else F("score__total").asc(nulls_last=True) if term == "score__total" else term
            for term in queryset.query.order_by
        ]
        if ordering:
            queryset = queryset.order_by(*ordering)
        # A stable order under every sort, so paging never shows a row twice.
        return queryset.order_by(*queryset.query.order_by, "-id") if queryset.query.order_by else \
            queryset.order_by("-created_at", "-id")
