"""AWS failures as one line: no credentials, a refusal from AWS or a failed call become a UserError
prefixed with what was being done, never a traceback. Shared by every boto3 caller."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from harness.errors import UserError

NO_CREDENTIALS = "no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"


@contextlib.contextmanager
def one_line_aws_errors(prefix: str = "", hint: str = "") -> Iterator[None]:
    """`prefix`: what the message starts with (e.g. the S3 URI); `hint`: appended to the no-credentials line."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    head = f"{prefix}: " if prefix else ""
    try:
        yield
    except NoCredentialsError:
        raise UserError(f"{head}{NO_CREDENTIALS}{'; ' + hint if hint else ''}") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise UserError(f"{head}AWS refused: {error.get('Code', '?')}: {error.get('Message', exc)}") from None
    except BotoCoreError as exc:
        raise UserError(f"{head}AWS call failed: {exc}") from None
