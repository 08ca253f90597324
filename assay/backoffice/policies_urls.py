"""Back-office pages for policies, included under /app/ in the backoffice namespace."""

from django.urls import URLPattern, path

from assay.backoffice import policies_views

urlpatterns: list[URLPattern] = [
    path("", policies_views.policy_current_view, name="policies"),
    path("versions/", policies_views.policy_history_view, name="policy-versions"),
    path("versions/<int:number>/", policies_views.policy_version_view, name="policy-version"),
    path("edit/", policies_views.policy_edit_view, name="policy-edit"),
]
