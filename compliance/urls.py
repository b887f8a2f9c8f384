from django.urls import path

from compliance import views

urlpatterns = [
    path("compliance/audit/", views.audit_trail, name="audit-trail"),
    path("compliance/audit/verify/", views.audit_verify, name="audit-verify"),
]
