"""The site is the admin only: staff log in at /admin/; / sends them there."""
from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

# The admin modules are registered here rather than when Django starts (settings: SimpleAdminConfig):
# only a process that serves pages, or checks them, loads the URLs.
admin.autodiscover()
admin.site.site_header = "Grocery catalog"
admin.site.site_title = "Grocery catalog admin"
admin.site.index_title = "Catalog and update runs"
admin.site.enable_nav_sidebar = False  # the width goes to the lists, which are wide
admin.site.site_url = None  # the site is the admin: no "view site" link

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
