"""Domain exceptions. A Lambda reports an exception by its class name, which
becomes the error name the state machine's Retry and Catch rules match on, so
the names here are part of the state machine's contract."""
from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class ParamsInvalid(PipelineError):
    """The params file breaks its schema, or a Personalize request built from it
    breaks botocore's Personalize model. The message names the field."""


class TrainingDataNotReady(PipelineError):
    """The export behind the params is not fit to train on (not enough data)."""


class SchemaChangeNotAllowed(PipelineError):
    """A dataset's schema changed in a way Personalize cannot apply."""


class ResourceConflict(PipelineError):
    """A resource with the pipeline's deterministic name exists but differs from
    what the params ask for, and Personalize cannot change it in place."""


class ResourceFailed(PipelineError):
    """A Personalize resource ended in a FAILED status."""


class WaitTimedOut(PipelineError):
    """A wait loop went past its overall time limit."""


class QualityGateRejected(PipelineError):
    """A new solution version is below a threshold or worse than the version the
    campaign serves now; the campaign is left as it is."""


class PersonalizeRequestFailed(PipelineError):
    """Personalize refused a request for a reason that retrying will not fix."""


class ConcurrentRun(PipelineError):
    """Another execution of the state machine is still running: two runs must
    not drive the same dataset group at once."""


class SettingsMissing(PipelineError):
    """An environment variable the Lambdas need (set by the training-pipeline
    Terraform module) is missing or empty; the message names it."""


class ImportBaseMissing(PipelineError):
    """An INCREMENTAL export is to be added to a dataset that does not hold what it
    builds on (no ACTIVE FULL import, or a run of its chain never imported); the
    message says which export to run or train first."""


class ExportSuperseded(PipelineError):
    """The dataset already holds a newer export than the one the params name:
    importing it would replace newer records with older ones."""


class QuotaExceeded(PipelineError):
    """A fixed Personalize quota (how many resources may exist) is reached; the
    message names it. Not retried: no wait clears it."""


# The two names below are AWS error codes on purpose: the state machine retries
# them (with backoff and jitter) and nothing else.
class ThrottlingException(PipelineError):
    """Personalize throttled a request."""


class LimitExceededException(PipelineError):
    """A Personalize service quota (e.g. pending import jobs) is reached for now."""


RETRYABLE_CODES = {
    "ThrottlingException": ThrottlingException,
    "Throttling": ThrottlingException,
    "TooManyRequestsException": ThrottlingException,
    "LimitExceededException": LimitExceededException,
}
