"""Browser-facing security: the Content-Security-Policy header and the password-reset gate.

Django 5.2 has no CSP of its own; the policy is one setting (CONTENT_SECURITY_POLICY) sent on
every response that does not set its own. Templates hold no inline script or event handler
(behaviour lives in static/*.js), so ``script-src 'self'`` holds everywhere.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

log = logging.getLogger(__name__)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


def password_reset_available() -> bool:
    """Only where people sign in with local passwords and the portal can send mail."""
    return bool(settings.ALLOW_LOCAL_ACCOUNTS and settings.MAIL_CONFIGURED)


def password_reset(request: HttpRequest) -> HttpResponse:
    """allauth's password reset, or a page that says why there is none (404), or why the mail failed (503)."""
    from allauth.account.views import password_reset as allauth_password_reset

    if not password_reset_available():
        reason = ("Passwords are managed by your company's sign-in (single sign-on); reset yours there."
                  if not settings.ALLOW_LOCAL_ACCOUNTS else
                  "This portal cannot send mail (no EMAIL_URL or EMAIL_HOST is set); ask an administrator.")
        return render(request, "portal/password_reset_unavailable.html", {"reason": reason}, status=404)
    try:
        return allauth_password_reset(request)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("password reset mail could not be sent: %s", exc)
        return render(request, "portal/password_reset_unavailable.html", {
            "reason": "The mail server did not accept the message; try again later or ask an administrator."},
            status=503)
