"""AWS failures as one line: no credentials, a refusal from AWS or a failed call become a UserError
prefixed with what was being done, never a traceback. Shared by every boto3 caller."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from harness.errors import UserError

NO_CREDENTIALS = "no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"


@contextlib.contextmanager
def one_line_aws_errors(prefix: str = "", hint: str = "", *, subject: str = "", after: str = "") -> Iterator[None]:
    """`prefix`: what the message starts with (e.g. the S3 URI); `hint`: appended to the no-credentials
    line; `subject`: what a refused call was about ("AWS refused GetProducts for <subject>"); `after`:
    appended to every line (e.g. "nothing was written")."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    head = f"{prefix}: " if prefix else ""
    tail = f"; {after}" if after else ""
    about = f" for {subject}" if subject else ""
    try:
        yield
    except NoCredentialsError:
        raise UserError(f"{head}{NO_CREDENTIALS}{'; ' + hint if hint else ''}{tail}") from None
    except EndpointConnectionError as exc:
        raise UserError(f"{head}cannot reach AWS ({exc.kwargs.get('endpoint_url', 'endpoint')}){tail}") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        message = str(error.get("Message", "")).strip() or "no message"
        raise UserError(f"{head}AWS refused {exc.operation_name}{about}: {error.get('Code', '?')}: {message}{tail}"
                        ) from None
    except BotoCoreError as exc:  # timeouts, bad config: still the environment's to fix, still one line
        raise UserError(f"{head}AWS call{about} failed: {exc}{tail}") from None
