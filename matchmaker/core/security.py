"""Security headers on every response."""

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# (name, value) of the headers every response gets unless its view set them itself.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def register(app: Flask) -> None:
    """Add CSP, framing, sniffing and referrer headers to every response."""

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        defaults = SECURITY_HEADERS
        if app.config.get("SESSION_COOKIE_SECURE"):
            defaults += (HSTS,)
        # One pass over the response's headers, not one per header added (setdefault's)
        present = {name.lower() for name, _value in response.headers}
        response.headers.extend(
            [(name, value) for name, value in defaults if name.lower() not in present]
        )
        return response
