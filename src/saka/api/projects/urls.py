"""Project routes, included under ``api/v1/`` by ``saka.api.urls``."""

from django.urls import path

from saka.api.projects import views as v

urlpatterns = [
    path("projects/", v.ProjectListView.as_view(), name="project-list"),
    path("projects/<int:project_id>/", v.ProjectDetailView.as_view(), name="project-detail"),
    path("projects/<int:project_id>/boost/", v.ProjectBoostView.as_view(), name="project-boost"),
]
