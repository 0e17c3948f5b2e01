"""The site is the admin only: staff log in at /admin/; / sends them there."""
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import path, re_path, reverse
from django.views.generic import RedirectView

# The admin modules are registered here rather than when Django starts (settings: SimpleAdminConfig):
# only a process that serves pages, or checks them, loads the URLs.
admin.autodiscover()
admin.site.site_header = "Grocery catalog"
admin.site.site_title = "Grocery catalog admin"
admin.site.index_title = "Catalog and update runs"
admin.site.enable_nav_sidebar = False  # the width goes to the lists, which are wide
admin.site.site_url = None  # the site is the admin: no "view site" link


def ledger_moved(request, rest):
    """The run ledger's pages were under /admin/update/ until the ledger had an app of its own (issue 21):
    a bookmark of one lands on the same page."""
    query = request.META.get("QUERY_STRING", "")
    return redirect(reverse("admin:app_list", args=["ledger"]) + rest + (f"?{query}" if query else ""))


urlpatterns = [
    re_path(r"^admin/update/(?P<rest>.*)$", ledger_moved),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
