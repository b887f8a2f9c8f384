from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm

from revops.core.approvals.models import Approval
from revops.core.audit.actions import AuditAction
from revops.core.audit.models import AuditEvent
from revops.core.identity import sod_grant_refusal
from revops.core.models import ApiToken, Job, RoleGrant, SodException
from revops.errors import DomainError
from revops.roles import ADMIN, ROLES


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "progress_done", "progress_total", "started_by", "created_at")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in Job._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are minted with `manage.py create_api_token` (which shows the secret once) and revoked
    here; a token's user never changes (its requests would act as someone else)."""

    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "name", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    search_fields = ("user__username", "prefix", "name")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record stays for the trail

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        from revops.core.services.tokens import api_token_revoke

        done = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, actor=request.user)
            done += 1
        self.message_user(request, f"Revoked {done} token(s).", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        from revops.core.audit.services import audit_record

        super().save_model(request, obj, form, change)
        if change and "name" in form.changed_data:
            audit_record(
                actor=request.user, action=AuditAction.API_TOKEN_RENAMED, obj=obj, changes={"name": obj.name}
            )


class ConcordUserChangeForm(UserChangeForm):
    def clean(self):
        data = super().clean()
        groups = data.get("groups")
        if groups is not None and self.instance.pk:
            roles = {g.name for g in groups if g.name in ROLES}
            if data.get("is_superuser"):
                roles.add(ADMIN)
            refusal = sod_grant_refusal(self.instance, roles)
            if refusal:
                raise forms.ValidationError(refusal)
        return data


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class ConcordUserAdmin(UserAdmin):
    """Django's user admin, with segregation of duties checked on the form (the model signals in
    revops.core.identity check it again and write the audit events)."""

    form = ConcordUserChangeForm

    def changeform_view(self, request, *args, **kwargs):
        try:
            return super().changeform_view(request, *args, **kwargs)
        except DomainError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.get_full_path())


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "granted_by_label", "created_at", "revoked_at", "revoked_by_label")
    list_filter = ("role",)
    search_fields = ("user__username", "granted_by_label")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SodExceptionForm(forms.ModelForm):
    request = None

    class Meta:
        model = SodException
        fields = ("user", "kind", "reason")

    def clean(self):
        data = super().clean()
        if len((data.get("reason") or "").strip()) < 10:
            self.add_error("reason", "Say why this exception to segregation of duties is needed.")
        if self.request is not None and data.get("user") == self.request.user:
            self.add_error("user", "Nobody records a segregation-of-duties exception for themselves.")
        return data


@admin.register(SodException)
class SodExceptionAdmin(admin.ModelAdmin):
    """Record an exception to segregation of duties (audited; a reason is required)."""

    form = SodExceptionForm
    list_display = ("user", "kind", "granted_by_label", "created_at", "revoked_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return ("user", "kind", "reason", "granted_by_label", "created_at", "revoked_at") if obj else ()

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.request = request
        return form

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        from revops.core.services.roles import sod_exception_record

        if change:
            return  # read-only once recorded
        saved = sod_exception_record(user=obj.user, kind=obj.kind, reason=obj.reason, actor=request.user)
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description="Revoke selected exceptions")
    def revoke(self, request, queryset):
        from revops.core.services.roles import sod_exception_revoke

        for exception in queryset.filter(revoked_at__isnull=True):
            sod_exception_revoke(exception=exception, actor=request.user)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("seq", "occurred_at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("object_type", "object_id", "actor_label")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Approval)
class ApprovalAdmin(admin.ModelAdmin):
    """Requests are read here, never edited: a decision goes through the approval service (the same
    maker-checker rules as the queue and the API — nobody decides their own request)."""

    list_display = ("id", "kind", "summary", "status", "requested_by", "requested_at", "decided_by")
    list_filter = ("kind", "status")
    search_fields = ("summary", "requested_by__username")
    readonly_fields = [f.name for f in Approval._meta.fields]
    actions = ["approve", "reject"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _decide(self, request, queryset, *, approve: bool) -> None:
        from revops.core.approvals.services import approval_decide

        done = 0
        for approval in queryset.filter(status=Approval.Status.PENDING).order_by("id"):
            try:
                approval_decide(
                    approval=approval,
                    user=request.user,
                    approve=approve,
                    comment="Approved in the admin." if approve else "Rejected in the admin.",
                )
                done += 1
            except DomainError as error:
                self.message_user(
                    request, f"Request #{approval.pk} not decided: {error.detail}", messages.ERROR
                )
        if done:
            verb = "Approved" if approve else "Rejected"
            self.message_user(request, f"{verb} {done} request(s).", messages.SUCCESS)

    @admin.action(description="Approve selected requests")
    def approve(self, request, queryset):
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject selected requests")
    def reject(self, request, queryset):
        self._decide(request, queryset, approve=False)
