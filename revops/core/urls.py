from django.contrib.auth import views as auth_views
from django.urls import path

from revops.core import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("search/", views.search_view, name="search"),
    path("jobs/", views.job_list, name="jobs"),
    path("notifications/", views.notification_list, name="notifications"),
    path("jobs/<int:job_id>/progress/", views.job_progress, name="job-progress"),
    path("problems/<slug:slug>", views.problem_doc, name="problem-doc"),
]
