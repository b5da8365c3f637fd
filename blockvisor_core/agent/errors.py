"""What the agent refuses, by kind; the service maps each kind to its gRPC status code."""


class AgentError(Exception):
    """A request the agent could not carry out; the message names the job or path."""


class NotFound(AgentError):
    """An unknown job, or a missing file."""


class InvalidArgument(AgentError):
    """A malformed request: a bad job config or name, a bad template."""


class FailedPrecondition(AgentError):
    """A request that does not fit the current state: the agent is not set up, too many jobs, ..."""
